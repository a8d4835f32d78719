// Progress signs of long storage operations. Reads and writes of a chunk, and each poll of a
// busy lock, call heartbeat(); a watcher (base/bounded_call.hpp) can then tell an operation that
// is slow but moving from one blocked on storage that stopped answering (a network file system
// whose server is gone blocks every call on it, uninterruptibly but for SIGKILL).
#pragma once

namespace appshare {

using HeartbeatFn = void (*)() noexcept;

// Tells the watcher of this process, if any, that work is moving. Cheap when nobody watches.
void heartbeat() noexcept;

// Installs the function heartbeat() calls (nullptr: none). For bounded_call's worker process.
void set_heartbeat(HeartbeatFn fn) noexcept;

}  // namespace appshare
