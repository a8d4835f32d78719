// JSON as appshare writes it (records, notes, instance state, the worker's answer): never
// throwing on text that is not valid UTF-8 — a path or message that came from outside may not
// be — but writing U+FFFD in place of such bytes, as readers of the file then see them.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace appshare {

// j.dump(indent) with invalid UTF-8 replaced instead of thrown on.
[[nodiscard]] inline std::string json_text(const nlohmann::json& j, int indent = -1)
{
    return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace appshare
