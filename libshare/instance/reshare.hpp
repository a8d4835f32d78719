// `appshare reshare NAME`: move a stopped instance that runs independently (on a host-local copy
// of its base, after a fallback at start) back onto the shared base. The shared base is
// lock-and-loaded first (from the local copy itself, which also repairs the shared storage, or
// from the sources), then the context's base link is re-pointed at it (same digest, so the
// switch is safe; an overlay an older appshare made is moved onto the link), the boot links are
// re-pointed and instance.json says "shared" again. The local copy stays in the local store
// (other instances may use it).
#pragma once

#include "instance/config.hpp"
#include "instance/instance_paths.hpp"
#include "instance/lock_and_load.hpp"
#include "base/result.hpp"

#include <filesystem>
#include <functional>

namespace appshare {

// Whether the domain is stopped; the core cannot tell, the caller asks libvirt.
enum class DomainStopped { No, Yes };
// Asks (through libvirt) whether the domain is stopped now. Called before the instance lock is
// taken and again once it is held; its errors are returned as they are.
using StoppedCheck = std::function<Result<DomainStopped>()>;

struct ReshareOutcome {
    bool was_independent = false;  // false: it already ran on the shared base
    bool changed = false;          // the context was re-pointed or instance.json rewritten
    bool base_loaded = false;      // the shared base had to be (re)loaded
    std::filesystem::path base;    // the shared base it now uses
    bool definition_updated = false;  // the domain's definition was given its backing chain (virt layer)
};

// Errors: DomainRunning when `stopped` says No, before or after the instance lock is had; the shared base's ensure errors (LockTimeout,
// LoadFailed, Io, ...) with nothing changed; UnsafeImage when the overlay is backed by a file
// that is not a copy of the base.
[[nodiscard]] Result<ReshareOutcome> reshare_instance(const Config& config, const InstancePaths& paths,
                                                      const StoppedCheck& stopped, const LoadOptions& options);

}  // namespace appshare
