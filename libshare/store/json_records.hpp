// Small JSON records on shared storage that every host writes and every host reads (usage
// records, the hosts registry): one file per record, written atomically by its one writer.
// Read as untrusted: a file is read only if it is a regular file (no link, no FIFO, capped),
// holds one JSON object, and the caller's check accepts it; anything else is skipped and
// named (printable) so a report can say so. Temporary files of writers (".<name>.part-…") are
// collected for `appshare gc`.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace appshare {

struct RecordDirScan {
    std::vector<std::string> skipped;                 // "<file>: why it is not a record" (printable)
    std::vector<std::filesystem::path> temporary;     // writers' temporary files
    bool complete = true;                             // false when a directory could not be read
};

// What a check says of a parsed record: empty when it is accepted, else why not.
using RecordCheck = std::function<std::string(const std::filesystem::path& file, const nlohmann::json& object)>;

// Reads every "*.json" file directly in `dir` (missing: nothing) of at most `max_bytes`, passes
// each JSON object to `check`, and notes in `scan` what was skipped and why.
void scan_json_records(const std::filesystem::path& dir, std::size_t max_bytes, RecordDirScan& scan,
                       const RecordCheck& check);

// The string field `key` of `object`, or "" when it is missing or not a string.
[[nodiscard]] std::string json_string(const nlohmann::json& object, const char* key);

}  // namespace appshare
