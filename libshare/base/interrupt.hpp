// Ctrl-C / SIGTERM as a flag that long operations poll, so they stop at a safe point and
// their RAII clean-up (temporary files, half-made contexts, half-defined domains) runs.
#pragma once

namespace appshare {

// Installs SIGINT/SIGTERM/SIGHUP handlers that set the flag (idempotent).
void install_interrupt_handlers();

// True once one of those signals arrived.
[[nodiscard]] bool interrupted() noexcept;

}  // namespace appshare
