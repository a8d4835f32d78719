#include "instance/reshare.hpp"

#include "instance/instance_context.hpp"
#include "instance/instance_state.hpp"
#include "base/time_format.hpp"

namespace appshare {
namespace {

Result<void> require_stopped(const InstancePaths& paths, const StoppedCheck& is_stopped)
{
    auto stopped = is_stopped();
    if (!stopped) return std::move(stopped).error();
    if (*stopped != DomainStopped::Yes) {
        return make_error(ErrorCode::DomainRunning, "domain " + paths.domain + " is running; shut it down ('virsh shutdown " +
                                                        paths.domain + "') and run 'appshare reshare " + paths.domain + "' again.");
    }
    return ok();
}

}  // namespace

Result<ReshareOutcome> reshare_instance(const Config& config, const InstancePaths& paths, const StoppedCheck& is_stopped,
                                        const LoadOptions& options)
{
    if (auto s = require_stopped(paths, is_stopped); !s) return std::move(s).error();
    LockHolder holder = options.holder;
    holder.purpose = "reshare instance";
    auto instance_lock = lock_instance(paths, std::chrono::duration_cast<std::chrono::milliseconds>(config.lock_wait), holder);
    if (!instance_lock) return std::move(instance_lock).error();
    // A start may have passed its hook while we waited for the lock: ask again now that no
    // start can (its hook needs this lock).
    if (auto s = require_stopped(paths, is_stopped); !s) return std::move(s).error();

    auto state = load_instance_state(paths.context_dir);
    if (!state) return std::move(state).error();
    const BlobStore shared(config.shared_root);
    const BlobStore local(config.local_root);
    ReshareOutcome out;
    out.was_independent = *state && (*state)->mode == InstanceMode::Independent;

    auto files = ensure_instance_files(config, paths, shared, options);
    if (!files) {
        return make_error(files.error().code, "domain " + paths.domain + " stays on its host-local copy: " + files.error().message);
    }
    out.base_loaded = *files;
    auto pointed = point_context_at(paths, shared, {local}, options.log);
    if (!pointed) return std::move(pointed).error();
    out.changed = *pointed;
    out.base = shared.path_of(paths.base);
    if (!*state || (*state)->mode != InstanceMode::Shared || (*state)->base != out.base) {
        InstanceState s;
        s.mode = InstanceMode::Shared;
        s.since = utc_timestamp_now();
        s.reason = out.was_independent ? "moved back onto the shared base by 'appshare reshare'" : "started on the shared base";
        s.base = out.base;
        if (auto w = save_instance_state(paths.context_dir, s); !w) return std::move(w).error();
        out.changed = true;
    }
    if (options.log) {
        options.log(out.was_independent ? "moved back onto the shared base " + out.base.string()
                                        : "already on the shared base " + out.base.string());
    }
    return out;
}

}  // namespace appshare
