// Running the built `appshare` command as a user does, with its stdout and stderr apart (the
// tests check that an error is one sentence on stderr and that stdout holds only the result).
#pragma once

#include "support/test_support.hpp"

#include <string>
#include <vector>

namespace appshare::test {

struct CliResult {
    int status;
    std::string out;
    std::string err;
};

// `appshare SUBCOMMAND ARGS...`.
inline CliResult run_cli(const std::string& subcommand, const std::vector<std::string>& args)
{
    TempDir io;
    std::string cmd = "'" + appshare_bin().string() + "' " + subcommand;
    for (const auto& a : args) cmd += " '" + a + "'";
    cmd += " >'" + (io / "out").string() + "' 2>'" + (io / "err").string() + "'";
    const auto r = run({"sh", "-c", cmd});
    return {r.status, read_file(io / "out"), read_file(io / "err")};
}

}  // namespace appshare::test
