// instance.json in an instance's context directory: whether the instance runs on the shared
// base or, after a fallback, on a host-local copy of it (an independent entity), since when,
// why, and which base file it uses. Written by install, the hook and `appshare reshare`; read
// by `appshare list`.
//
//   {"mode": "shared", "since": "2026-11-25T10:00:00Z", "reason": "installed", "base": "/…/<sha>.qcow2",
//    "host": "host-a"}
//
// "host" is the host that last prepared the instance to run (a start or an incoming live
// migration). A live migration reads it: on a context others share (context_root on the shared
// storage) it names the host the domain runs on now, so the host it left keeps its hands off;
// on a host-local context it tells the context this host left behind at an earlier migration
// (stale: the incoming copy replaces its overlay) from one another host runs.
#pragma once

#include "base/result.hpp"
#include "base/sync_batch.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace appshare {

enum class InstanceMode { Shared, Independent };

inline constexpr std::string_view kInstanceStateFile = "instance.json";

struct InstanceState {
    InstanceMode mode = InstanceMode::Shared;
    std::string since;   // UTC timestamp of the last change of mode
    std::string reason;  // why it is in this mode ("installed", "lock timeout: …")
    std::filesystem::path base;  // the base file the overlay is backed by
    std::string host;            // the host that last prepared it to run; empty: not recorded
};

// "shared" / "independent".
[[nodiscard]] std::string_view instance_mode_name(InstanceMode mode) noexcept;

// Parses instance.json text; `origin` names it in messages. ErrorCode::BadManifest when it is
// not a JSON object with a valid "mode" (other fields are optional strings).
[[nodiscard]] Result<InstanceState> parse_instance_state(std::string_view text, std::string_view origin);

// The JSON text of a state (one line, newline-terminated).
[[nodiscard]] std::string format_instance_state(const InstanceState& state);

// Reads <context_dir>/instance.json (never following a symlink). nullopt when it does not exist.
[[nodiscard]] Result<std::optional<InstanceState>> load_instance_state(const std::filesystem::path& context_dir);

// Writes <context_dir>/instance.json atomically (0600: only root reads it), flushed by `batch`
// when one is given (a new context: base/sync_batch.hpp).
[[nodiscard]] Result<void> save_instance_state(const std::filesystem::path& context_dir, const InstanceState& state,
                                               SyncBatch* batch = nullptr);

}  // namespace appshare
