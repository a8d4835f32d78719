// How the command reports an outcome: one sentence on stderr for errors, the exit status.
#pragma once

#include "base/error.hpp"

#include <nlohmann/json.hpp>

namespace appshare::cli {

// Prints "appshare: <message>" on stderr and returns the error's exit status.
int report_error(const Error& error);

// The error as JSON ({"error": {"code": "...", "exit_status": N, "message": "..."}}).
nlohmann::json error_json(const Error& error);

}  // namespace appshare::cli
