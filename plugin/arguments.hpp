// The one rule for the command line: every argument is checked while it is parsed, by the
// library's own check, so a bad argument is named (exit 2) before anything is read, loaded or
// contacted (no configuration, no libvirt). And every subcommand's --help ends in examples.
#pragma once

#include "base/result.hpp"

#include <CLI/CLI.hpp>

#include <functional>
#include <initializer_list>
#include <string>

namespace appshare::cli {

// A CLI11 validator that runs `check` on the argument's text; its error's sentence is what the
// command prints (through usage_failure_message).
[[nodiscard]] CLI::Validator checked_by(std::string name, std::function<Result<void>(const std::string&)> check);

// The argument names an instance: check_instance_name (install --name, uninstall, reshare).
[[nodiscard]] CLI::Validator instance_name_argument();

// --memory: a size the install accepts (parse_size_text, at least 1 MiB).
[[nodiscard]] CLI::Validator memory_argument();

// --vcpus: a count the install accepts.
[[nodiscard]] CLI::Validator vcpus_argument();

// Ends `sub`'s --help with "Examples:" and one command line per entry.
void set_examples(CLI::App* sub, std::initializer_list<std::string> examples);

// How the command prints a command-line error: "appshare: <one sentence>" on one line (for
// CLI::App::failure_message).
[[nodiscard]] std::string usage_failure_message(const CLI::App* app, const CLI::Error& error);

}  // namespace appshare::cli
