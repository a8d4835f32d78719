// Running another program (qemu-img, QEMU) with an argv vector: never through a shell, stdin
// from /dev/null, stdout and stderr captured together, optionally under a deadline.
#pragma once

#include "base/result.hpp"

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace appshare {

struct RunOptions {
    // SIGKILL and reap the program at this deadline (from its start); none: wait for it.
    std::optional<std::chrono::milliseconds> deadline;
    // SIGKILL and reap it as soon as Ctrl-C / SIGTERM arrived (base/interrupt.hpp).
    bool stop_on_interrupt = false;
    // Output beyond this many bytes is read and dropped.
    std::size_t max_output = 1024 * 1024;
    // Descriptors the program gets: {descriptor here, its number in the program}.
    std::vector<std::pair<int, int>> pass_fds;
};

enum class RunEnd {
    Exited,       // ran to its end: see status
    Killed,       // killed at the deadline (or lost track of, which counts as no answer)
    Interrupted,  // killed because of an interrupt
};

struct ProgramOutput {
    RunEnd end = RunEnd::Exited;
    int status = 0;      // exit status, or 128 + signal number (when Exited)
    std::string output;  // stdout and stderr together, at most max_output bytes
    std::chrono::milliseconds elapsed{0};
};

// `name` if it holds a slash, else the first executable regular file `dir/name` on PATH (or the
// default PATH when none is set).
[[nodiscard]] std::optional<std::string> find_program(const std::string& name);

// Runs argv[0] (looked up with find_program). Fails only when the program cannot be started
// (ErrorCode::Io, naming it, with advice to install it); how it ended is in the output.
[[nodiscard]] Result<ProgramOutput> run_program(const std::vector<std::string>& argv, const RunOptions& options = {});

}  // namespace appshare
