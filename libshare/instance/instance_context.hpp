// Changes to an instance's context directory that the hook and `appshare reshare` make: create
// the overlay when it is missing, re-point it (an unsafe rebase: header only) and the boot-file
// links at the copy of the base in one store or the other. Only switches between files with
// the same digest: the overlay's current backing file must be one of appshare's own copies of
// the instance's base, anything else is refused.
#pragma once

#include "store/blob_store.hpp"
#include "base/file_lock.hpp"
#include "instance/instance_paths.hpp"
#include "base/result.hpp"

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace appshare {

using LogFn = std::function<void(const std::string&)>;

// What the overlay's header says it is backed by; nullopt when there is no overlay yet.
struct OverlayBacking {
    std::string file;    // empty when the overlay has no backing file
    std::string format;  // empty when not recorded
};

// Reads the overlay's backing file from its qcow2 header (native reader, never following a
// symlink at the overlay's name). Errors: UnsafePath when the overlay is not a regular file,
// UnsafeImage when it is not a qcow2 image.
[[nodiscard]] Result<std::optional<OverlayBacking>> read_overlay_backing(const InstancePaths& paths);

// Takes the instance's lock (<context_dir>/.instance.lock; the context directory is created
// when missing), serialising the hook's start against `appshare reshare` and `uninstall`.
[[nodiscard]] Result<FileLock> lock_instance(const InstancePaths& paths, std::chrono::milliseconds wait,
                                             const LockHolder& me);

// The same lock for a caller that only has the (trusted) context directory.
[[nodiscard]] Result<FileLock> lock_context(const std::filesystem::path& context_dir, std::chrono::milliseconds wait,
                                            const LockHolder& me);

// Points the context at `store`'s copies (which must be present and verified): creates the
// overlay if missing (at a temporary name, then renamed into place; its size is the base's
// virtual size), rebases it when its backing file is another of `known_stores`' copies of the
// same base or the format is not recorded, and re-points every boot link (symlink at a temporary
// name + rename; only a symlink or nothing is replaced, UnsafePath when anything else is at the
// link's name). Returns true if anything changed. UnsafeImage when the overlay is backed by
// anything else.
[[nodiscard]] Result<bool> point_context_at(const InstancePaths& paths, const BlobStore& store,
                                            const std::vector<BlobStore>& known_stores, const LogFn& log);

// True when the overlay is backed by `store`'s base and every boot link points into `store`.
[[nodiscard]] bool context_points_at(const InstancePaths& paths, const BlobStore& store);

}  // namespace appshare
