// Each subcommand registers itself on the CLI11 app and returns the exit status when run.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>

namespace appshare::cli {

// The action of the subcommand that was chosen; returns the process exit status.
using Action = std::function<int()>;

// Each register_* adds one subcommand and, when that subcommand is chosen, stores its action.
void register_verify(CLI::App& app, Action& chosen);
void register_pack(CLI::App& app, Action& chosen);
void register_capture(CLI::App& app, Action& chosen);
void register_import(CLI::App& app, Action& chosen);
void register_reshare(CLI::App& app, Action& chosen);
void register_install(CLI::App& app, Action& chosen);
void register_uninstall(CLI::App& app, Action& chosen);
void register_list(CLI::App& app, Action& chosen);
void register_gc(CLI::App& app, Action& chosen);
void register_hook_command(CLI::App& app, Action& chosen);

// `action` run so that Ctrl-C, SIGTERM and SIGHUP only set the flag the library polls
// (base/interrupt.hpp): for the commands that copy bases (install, reshare, pack, capture, import), which then stop at a
// safe point, remove what they half made and exit 130, and for gc, which stops between two files. The other commands copy nothing and keep
// the default: the signal ends them at once.
[[nodiscard]] Action interruptible(Action action);

}  // namespace appshare::cli
