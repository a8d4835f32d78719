// How the command reports: one sentence per error and a line per event worth telling on stderr,
// the exit status, and (for list and verify) the result as text or JSON. Every error and notice
// the command prints goes through here; a command with its own result text prints it on stdout.
#pragma once

#include "base/error.hpp"
#include "base/result.hpp"

#include <nlohmann/json.hpp>

#include <functional>
#include <iostream>
#include <string>

namespace appshare::cli {

// Prints "appshare: <the message as a sentence>" on stderr and returns the error's exit status.
int report_error(const Error& error);

// For a command with --json: with `as_json` the error also goes to stdout, as error_json.
int report_error(const Error& error, bool as_json);

// The error as JSON ({"error": {"code": "...", "exit_status": N, "message": "<sentence>"}}).
[[nodiscard]] nlohmann::json error_json(const Error& error);

// Prints "appshare: <line>" on stderr: an event worth telling while the command works (a lock
// wait, a base being loaded). Fits where the library takes a LogFn.
void report_notice(const std::string& line);

// The command's catch-all: `action()`'s exit status, or, should it throw, one escaped sentence on
// stderr ("appshare: failed unexpectedly (...); please report this.") and 1.
[[nodiscard]] int report_exceptions(const std::function<int()>& action) noexcept;

// The outcome of a command with --json (list, verify): on success `to_json(value)` on stdout
// with `as_json`, else `to_text(value)`, and 0; on failure report_error(error, as_json).
template <class T, class ToJson, class ToText>
int report_result(const Result<T>& outcome, bool as_json, ToJson to_json, ToText to_text)
{
    if (!outcome) return report_error(outcome.error(), as_json);
    if (as_json) {
        std::cout << to_json(*outcome).dump(2) << "\n";
    } else {
        std::cout << to_text(*outcome);
    }
    return 0;
}

}  // namespace appshare::cli
