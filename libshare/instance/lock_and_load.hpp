// Lock-and-load for one instance at domain start (the hook's `prepare begin`): make sure the
// instance's base and boot files are loaded and intact on the shared storage (taking each
// file's lock with a bounded wait, re-checking, loading from the allowed sources when missing
// or damaged), create the context overlay when missing, and point the context at them.
//
// Fallback to an independent entity: if the shared files cannot be had (lock timeout, load
// failure, shared storage unwritable or full, damaged base without a working source), a
// verified host-local copy is made in the local store instead (from the shared file if still
// readable and intact, else from the sources), the context's base link is re-pointed at it (same
// digest, so the switch is safe), the boot links re-pointed, and instance.json records the switch. An
// instance that is independent stays so until `appshare reshare` moves it back. Only when no
// verified copy can be had anywhere is an error returned, and then the context is unchanged.
#pragma once

#include "instance/config.hpp"
#include "base/file_lock.hpp"
#include "instance/context.hpp"
#include "instance/instance_paths.hpp"
#include "instance/instance_state.hpp"
#include "base/result.hpp"
#include "store/remote_source_limits.hpp"

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace appshare {

struct LoadOptions {
    LockHolder holder;  // recorded in the lock files while held
    LogFn log;          // one line per event
    // Every lock wait of one phase (the shared attempt, or the host-local fallback) ends by
    // then, so a start never waits longer than lock_wait for the locks of that phase, however
    // many it takes. Set by start_phase(); max() means a full lock_wait for each lock.
    std::chrono::steady_clock::time_point lock_deadline = std::chrono::steady_clock::time_point::max();
    // The other store's copy is no source: the shared storage stopped answering, and even a
    // look at it would block.
    bool skip_other_store = false;
    // False while another load of this base is in flight on this host (its load guard, below,
    // stayed busy): nothing is copied, only copies already verified are used.
    bool may_load = true;
};

// The host-local lock that keeps loads of one base on this host to one at a time
// (<local_root>/<sha256>.<kind>.load.lock). prepare_instance holds it for the whole start; the
// shared-storage worker inherits it, so a worker abandoned on a stall keeps it until it is
// really gone, and the next start on this host copies nothing while it lives.
[[nodiscard]] std::filesystem::path load_guard_path(const Config& config, const InstancePaths& paths);

// The base (sha256, kind) whose load guard a file in local_root is named for; nullopt when
// `file_name` is not a load guard's name. `appshare gc` removes the guards of bases no store on
// this host holds any more.
struct LoadGuardName {
    std::string sha256;
    std::string kind;
};
[[nodiscard]] std::optional<LoadGuardName> load_guard_of(std::string_view file_name);

// The limits every source of a load obeys (store/remote_source_limits.hpp): max_base_bytes,
// and load_timeout from now for the whole load, files and http alike.
[[nodiscard]] SourceLimits source_limits(const Config& config);

// `options` for a new phase: its lock deadline is lock_wait from now.
[[nodiscard]] LoadOptions start_phase(const Config& config, const LoadOptions& options);

// What is left of the phase's lock wait (all of lock_wait when no deadline is set).
[[nodiscard]] std::chrono::milliseconds lock_wait_left(const Config& config, const LoadOptions& options);

struct PrepareOutcome {
    InstanceMode mode = InstanceMode::Shared;
    std::filesystem::path base;  // the base file the overlay is now backed by
    bool switched = false;       // became independent during this call
    bool base_loaded = false;    // a base or boot file was copied during this call
    bool changed = false;        // the context was re-pointed or instance.json rewritten
    std::string reason;          // why it is independent (empty when shared)
};

// The sources to load the instance's base into `target` from, in order: appshare's other copy
// (the shared base for the local store and vice versa) when a file is there and
// options.skip_other_store is not set, then the
// metadata's source files (checked against allowed_source_dirs when streamed), then its URLs
// (checked against allowed_url_prefixes, also on every redirect); all under source_limits().
// None when options.may_load is false.
[[nodiscard]] std::vector<BlobSource> base_sources(const Config& config, const InstancePaths& paths,
                                                   const BlobStore& target, const LoadOptions& options);

// Ensures the base and boot files in `store` (lock-and-load each). Sources for boot files are
// the other store's copies only. Returns whether anything was loaded.
[[nodiscard]] Result<bool> ensure_instance_files(const Config& config, const InstancePaths& paths,
                                                 const BlobStore& store, const LoadOptions& options);

// The last steps of every phase, once the instance's files are in the store for `mode` (the
// shared store, or the local one for Independent): the context is pointed at that store's
// copies and instance.json records the mode (a mode that does not change keeps its "since" and
// "reason"). `loaded` says whether ensuring them copied anything. The caller holds the
// instance's lock. Errors: point_context_at's and the state file's.
[[nodiscard]] Result<PrepareOutcome> settle_instance(const Config& config, const InstancePaths& paths, InstanceMode mode,
                                                     bool loaded, const std::optional<InstanceState>& old,
                                                     const std::string& reason, const LogFn& log);

// Lock-and-load for a starting instance, with the fallback described above, holding the base's
// load guard. A start that finds the guard busy (another start on this host loads the base, or
// its abandoned worker still lives) first tries with may_load false: it runs on the shared base
// or a host-local copy if one is already verified. Only if neither is does it wait for the
// guard, like for any lock, within a lock_wait of its own, and then tries again with loads; a
// guard still busy then refuses the start with a sentence saying a load of the base is still
// in progress on this host. Errors (the start must be refused): the instance
// lock cannot be had, no verified copy can be had (LoadFailed or the underlying code), the
// overlay is backed by something else (UnsafeImage), Interrupted.
[[nodiscard]] Result<PrepareOutcome> prepare_instance(const Config& config, const InstancePaths& paths,
                                                      const LoadOptions& options);

}  // namespace appshare
