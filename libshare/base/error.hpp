// Expected failures of appshare, as values: a code (which is also the process exit status)
// and one sentence for the user naming what failed, on which object, and what to do.
#pragma once

#include <string>
#include <string_view>

namespace appshare {

// Exit statuses of the `appshare` command and the hook. Documented in README.md ("Exit codes");
// keep the two in step.
enum class ErrorCode : int {
    Internal = 1,        // a bug or an unexpected system failure
    Usage = 2,           // bad command line
    BadManifest = 3,     // manifest missing, malformed, or not valid against the schema
    UnsafePath = 4,      // a path leaves the bundle / allowed roots, or a symlink escapes
    DigestMismatch = 5,  // content does not match its recorded SHA-256 or size
    UnsafeImage = 6,     // image header refused: backing file, data file, encryption, format
    Io = 7,              // a file could not be read or written (missing, permissions, disk full)
    Libvirt = 8,         // libvirt refused or could not be reached
    LockTimeout = 9,     // a lock could not be had within the configured wait
    AlreadyExists = 10,  // a domain or file of that name exists
    NotFound = 11,       // no such domain / instance / base
    DomainRunning = 12,  // the domain is running and the operation needs it stopped
    Config = 13,         // configuration file invalid
    LoadFailed = 14,     // the base could not be loaded from any source
    Interrupted = 130,   // SIGINT / SIGTERM
};

struct Error {
    ErrorCode code = ErrorCode::Internal;
    std::string message;

    [[nodiscard]] int exit_status() const noexcept { return static_cast<int>(code); }
};

// Short stable name of a code, used in --json output ("bad-manifest", ...).
[[nodiscard]] std::string_view error_code_name(ErrorCode code) noexcept;

// A message as a clause to nest in another sentence: without its final full stop.
[[nodiscard]] std::string message_clause(std::string message);

// "what failed (details); what to do." -> "what failed (details)": drops a nested message's
// advice where the outer sentence gives its own.
[[nodiscard]] std::string message_what_failed(const std::string& message);

// `message` ending as a sentence does: with exactly one mark. A trailing run of '.', '?' and '!'
// (a nested sentence's stop followed by another: "use it?.") becomes its '?', else its '!',
// else one '.'; a message without one gets '.'. make_error and the command's reporter both
// finish through here, so no message ends in two marks.
[[nodiscard]] std::string finish_sentence(std::string message);

// The one way errors are made, so every message is one finished sentence.
[[nodiscard]] inline Error make_error(ErrorCode code, std::string message)
{
    return Error{code, finish_sentence(std::move(message))};
}

}  // namespace appshare
