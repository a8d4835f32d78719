#include "store/json_records.hpp"

#include "base/dir_handle.hpp"
#include "base/small_file.hpp"
#include "base/text.hpp"

namespace appshare {

void scan_json_records(const std::filesystem::path& dir, std::size_t max_bytes, RecordDirScan& scan,
                       const RecordCheck& check)
{
    const auto names = list_no_links(dir);
    if (!names) {
        scan.complete = false;
        scan.skipped.push_back(printable(dir.string()) + ": cannot be read (" + message_clause(names.error().message) + ")");
        return;
    }
    if (!*names) return;
    for (const auto& name : **names) {
        const auto file = dir / name;
        if (name.size() > 1 && name.front() == '.' && name.find(".part-") != std::string::npos) {
            scan.temporary.push_back(file);
            continue;
        }
        if (file.extension() != ".json") continue;
        const SmallFile text = read_small_file(file, max_bytes);
        std::string why;
        if (!text) {
            why = text.why();
            // A record that exists but cannot be read may be a real one: the scan is not complete.
            if (text.problem == FileProblem::Unreadable) scan.complete = false;
        } else {
            const auto j = nlohmann::json::parse(text.text, nullptr, false);
            why = j.is_discarded() || !j.is_object() ? std::string("is not a JSON object") : check(file, j);
        }
        if (!why.empty()) scan.skipped.push_back(printable(file.string()) + ": " + why);
    }
}

std::string json_string(const nlohmann::json& object, const char* key)
{
    const auto it = object.find(key);
    return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace appshare
