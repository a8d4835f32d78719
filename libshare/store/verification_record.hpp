// A record, next to a published file, that its full content was hashed and matched its digest.
// Keyed by what changes when the file's content does (size, inode, mtime), so a later check is
// a stat() instead of a full re-hash; any write to the file or a replacement makes the record
// stale and forces the full check again. ctime is recorded but not compared: libvirt's
// dynamic ownership (chown, remembered-owner xattrs) touches it at every domain start.
#pragma once

#include "base/result.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include <sys/stat.h>

namespace appshare {

struct VerificationRecord {
    std::string sha256;
    std::uint64_t size = 0;
    std::uint64_t inode = 0;
    std::int64_t mtime_ns = 0;
    std::int64_t ctime_ns = 0;
    std::string verified_at;  // UTC timestamp
    std::string verified_by;  // host name
};

// The record file for a published file: "<file>.verified".
[[nodiscard]] std::filesystem::path record_path_for(const std::filesystem::path& file);

// A record for `st` (the file's stat after it was hashed) and the digest it matched.
[[nodiscard]] VerificationRecord make_record(const struct stat& st, std::string sha256);

// True when `record` describes the file as `st` shows it now, with the expected digest.
[[nodiscard]] bool record_matches(const VerificationRecord& record, const struct stat& st, std::string_view sha256);

// Reads the record for `file`; nullopt when there is none or it cannot be parsed (a damaged
// record only costs a re-hash).
[[nodiscard]] std::optional<VerificationRecord> read_record(const std::filesystem::path& file);

// Writes the record for `file` atomically.
[[nodiscard]] Result<void> write_record(const std::filesystem::path& file, const VerificationRecord& record);

}  // namespace appshare
