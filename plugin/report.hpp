// How the command reports an outcome: one sentence on stderr for errors, the exit status.
#pragma once

#include "base/error.hpp"

#include <nlohmann/json.hpp>

#include <string>

namespace appshare::cli {

// The one place the command finishes a sentence: `message` as it is when it ends in '.', '?' or
// '!', else with a full stop added.
[[nodiscard]] std::string sentence(std::string message);

// Prints "appshare: <the message as a sentence>" on stderr and returns the error's exit status.
int report_error(const Error& error);

// The error as JSON ({"error": {"code": "...", "exit_status": N, "message": "<sentence>"}}).
[[nodiscard]] nlohmann::json error_json(const Error& error);

}  // namespace appshare::cli
