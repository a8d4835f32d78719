// An instance's context on the host, the one module for it: the directory
// <context_root>/<NAME>/ (0711: QEMU, as libvirt's user, passes through; nobody lists it) holding
// its qcow2 overlay (0600, backed by the link `base` with the backing format recorded), the link
// `base` to one copy of the base (the shared one, or the host-local one of an independent
// instance; the domain XML names it as the overlay's backing store with relabel='no', so
// libvirt never chowns a base), for direct-kernel-boot appliances the links the domain XML
// names for kernel and initrd (always to the host-local copies: libvirt's DAC driver chowns
// those to QEMU's user while the domain runs and has no relabel='no' for them, so they must not
// resolve to a shared file), the cloud-init seed when the instance has one (instance/cloud_init_seed.hpp),
// instance.json (shared or independent: instance/instance_state.hpp,
// 0600) and the instance lock.
//
// `appshare install` creates a context (create_context) and uninstall removes it
// (remove_context); the hook and `appshare reshare` point it at one store's copies of the base
// (point_context_at), always under the instance lock (lock_context), by re-pointing the base
// link: the overlay's header is never rewritten for a switch. Switching only ever happens
// between files with the same digest: the overlay must be backed by the link or (an overlay an
// older appshare made) by one of appshare's own copies of the instance's base, anything else is
// refused.
#pragma once

#include "base/file_lock.hpp"
#include "base/result.hpp"
#include "base/sync_batch.hpp"
#include "store/blob_store.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace appshare {

using LogFn = std::function<void(const std::string&)>;

// Where each part of an instance's context lives.
struct ContextLayout {
    std::filesystem::path dir;          // <context_root>/<NAME>
    std::filesystem::path overlay;      // dir/disk.qcow2
    std::filesystem::path kernel_link;  // dir/vmlinuz
    std::filesystem::path initrd_link;  // dir/initrd.img
    std::filesystem::path lock_file;    // dir/.instance.lock, held while the context changes
    std::filesystem::path base_link;    // dir/base: the overlay's backing file, a link to a copy of the base
    std::filesystem::path seed_dir;     // dir/cloud-init: the cloud-init seed's files, 0600 (instance/cloud_init_seed.hpp)
    std::filesystem::path seed_iso;     // dir/seed.iso: the NoCloud "cidata" volume made from them
};

// The mode of context directories (and of the folders above them that appshare creates).
inline constexpr unsigned kContextDirMode = 0711;

[[nodiscard]] ContextLayout context_layout(const std::filesystem::path& context_root, std::string_view name);

// Instance (domain) names: 1 to 63 characters of letters, digits, '.', '_' and '-', starting
// with a letter or digit, without ".." (the name is a directory name and the guest's hostname).
// Errors: Usage.
[[nodiscard]] Result<void> check_instance_name(std::string_view name);

// Takes the instance's lock (the context directory is created when missing, and given mode
// kContextDirMode when it has another), serialising the hook's start against `appshare reshare`
// and `uninstall`.
[[nodiscard]] Result<FileLock> lock_context(const ContextLayout& context, std::chrono::milliseconds wait,
                                            const LockHolder& me);

// What a new context is made of.
struct ContextSpec {
    std::filesystem::path base;          // the shared base (need not exist yet: lazy install)
    std::string base_format;             // "qcow2" / "raw"
    std::uint64_t virtual_size = 0;      // the overlay's virtual size
    std::optional<std::filesystem::path> kernel;  // the host-local boot files the links point to
    std::optional<std::filesystem::path> initrd;
};

// A context made by create_context(); removed with everything in it when destroyed, unless
// keep() was called (all-or-nothing install).
class NewContext {
public:
    NewContext(NewContext&& o) noexcept;
    NewContext& operator=(NewContext&&) = delete;
    NewContext(const NewContext&) = delete;
    ~NewContext();

    void keep() noexcept { keep_ = true; }

private:
    friend Result<NewContext> create_context(const ContextLayout&, const ContextSpec&, SyncBatch*);
    explicit NewContext(std::filesystem::path dir) : dir_(std::move(dir)) {}
    std::filesystem::path dir_;
    bool keep_ = false;
};

// Creates layout.dir with kContextDirMode (its parent, the context root, is created if missing;
// the directory itself must not exist: AlreadyExists), the base link to spec.base, the overlay
// backed by that link (image/qcow2_overlay.hpp: 0600, backing format recorded, the base need not
// exist yet), the boot file links, and instance.json (shared, reason "installed", 0600), all of it
// on stable storage when it returns (flushed together: base/sync_batch.hpp) or, with a `batch`,
// once the caller flushed that (before anything names the context). Stops
// with Interrupted when Ctrl-C arrived. On any error nothing is left behind; an overlay the image
// writer refuses is an Io error here.
[[nodiscard]] Result<NewContext> create_context(const ContextLayout& layout, const ContextSpec& spec,
                                               SyncBatch* batch = nullptr);

// Removes an instance's context directory `dir` and everything in it, only if it is a real
// directory (not a symlink) directly inside `context_root`; a missing directory is fine.
// Errors: UnsafePath for a directory elsewhere, Io when it cannot be removed.
[[nodiscard]] Result<void> remove_context(const std::filesystem::path& context_root, const std::filesystem::path& dir);

// What the overlay's header says it is backed by.
struct OverlayBacking {
    std::string file;    // empty when the overlay has no backing file
    std::string format;  // empty when not recorded
};

// Reads the overlay's backing file from its qcow2 header (native reader, never following a
// symlink at the overlay's name); nullopt when there is no overlay yet. Errors: UnsafePath when
// the overlay is not a regular file, UnsafeImage when it is not a qcow2 image.
[[nodiscard]] Result<std::optional<OverlayBacking>> read_overlay_backing(const ContextLayout& context);

// The per-instance link to one of the instance's boot files (what the domain XML names), and the
// host-local copy it must point at.
struct BootLink {
    std::filesystem::path link;
    std::filesystem::path target;
};

// What point_context_at points the context at: one store's copy of the base (present and
// verified), the host-local copies of the boot files, and the other copies of the same base it
// may switch from.
struct ContextTarget {
    std::filesystem::path base;
    std::string base_format;
    std::vector<std::filesystem::path> known_bases;  // the same base in the other stores
    std::vector<BootLink> boot_links;
    std::string base_label;  // for messages: "base 0123456789ab"
    std::uint64_t overlay_size = 0;  // a new overlay's virtual size at least (the base's when larger)
};

// Points the context at `target`: re-points the base link at target.base and every boot link at
// its target (a symlink at a temporary name + rename; only a symlink or nothing is replaced,
// UnsafePath when anything else is at the link's name), creates the overlay if missing (backed
// by the base link, beside its final name, then linked into place; its size is the base's
// virtual size or target.overlay_size, whichever is larger), and moves
// an overlay backed by one of the known copies of the same base (made by an older appshare) onto
// the link by rewriting its header natively (image/qcow2_overlay.hpp; never qemu-img). An
// overlay others may read is made 0600. Returns true if anything changed. UnsafeImage when the
// overlay is backed by anything else or its header is not one appshare writes.
[[nodiscard]] Result<bool> point_context_at(const ContextLayout& context, const ContextTarget& target, const LogFn& log);

}  // namespace appshare
