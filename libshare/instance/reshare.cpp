#include "instance/reshare.hpp"

#include "instance/instance_state.hpp"
#include "instance/stores.hpp"

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
                                        const LoadOptions& caller_options)
{
    if (auto s = require_stopped(paths, is_stopped); !s) return std::move(s).error();
    const LoadOptions options = start_phase(config, caller_options);
    LockHolder holder = options.holder;
    holder.purpose = "reshare instance";
    auto instance_lock = lock_context(paths.context, lock_wait_left(config, options), holder);
    if (!instance_lock) return std::move(instance_lock).error();
    // A start may have passed its hook while we waited for the lock: ask again now that no
    // start can (its hook needs this lock).
    if (auto s = require_stopped(paths, is_stopped); !s) return std::move(s).error();

    auto state = load_instance_state(paths.context.dir);
    if (!state) return std::move(state).error();
    ReshareOutcome out;
    out.was_independent = *state && (*state)->mode == InstanceMode::Independent;

    auto files = ensure_instance_files(config, paths, shared_store(config), options);
    if (!files) {
        return make_error(files.error().code, "domain " + paths.domain + " stays on its host-local copy: " + files.error().message);
    }
    const std::string reason = out.was_independent ? "moved back onto the shared base by 'appshare reshare'"
                                                   : "started on the shared base";
    auto settled = settle_instance(config, paths, InstanceMode::Shared, *files, *state, reason, options.log);
    if (!settled) return std::move(settled).error();
    out.base_loaded = settled->base_loaded;
    out.changed = settled->changed;
    out.base = settled->base;
    if (options.log) {
        options.log(out.was_independent ? "moved back onto the shared base " + out.base.string()
                                        : "already on the shared base " + out.base.string());
    }
    return out;
}

}  // namespace appshare
