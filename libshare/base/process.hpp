// Running another program (qemu-img) with an argv vector: never through a shell.
#pragma once

#include "base/result.hpp"

#include <string>
#include <vector>

namespace appshare {

struct ProgramOutput {
    int status = 0;      // exit status, or 128 + signal number
    std::string output;  // stdout and stderr together
};

// Runs argv[0] (looked up in PATH) with stdin from /dev/null. Fails only when the program
// cannot be started (ErrorCode::Io); a non-zero exit is reported in `status`.
[[nodiscard]] Result<ProgramOutput> run_program(const std::vector<std::string>& argv);

}  // namespace appshare
