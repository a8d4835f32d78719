// Registering the startup binary (the hook) with libvirt: a link <hooks_dir>/qemu.d/appshare
// pointing at it, never overwriting anyone else's file; and finding out whether the running
// libvirt daemon can see it yet (libvirt only picks up a hook file added after it started once
// it is reloaded: SIGHUP / systemctl reload).
#pragma once

#include "base/result.hpp"

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace appshare {

inline constexpr std::string_view kLibvirtHooksDir = "/etc/libvirt/hooks";
inline constexpr std::string_view kHookLinkName = "appshare";  // in qemu.d/

struct HookRegistration {
    std::filesystem::path link;    // <hooks_dir>/qemu.d/appshare
    std::filesystem::path target;  // the startup binary it points at (absolute)
    bool created = false;          // this call made the link
};

// Makes <hooks_dir>/qemu.d/appshare a symlink to `hook_binary` (made absolute), creating qemu.d
// (0755) if missing. Already such a link (to the same file): nothing changes, created = false.
// Errors: Config when `hook_binary` is not an executable regular file; AlreadyExists when
// something else has that name (another file, or a link elsewhere), which is never touched;
// Io when the link cannot be made.
[[nodiscard]] Result<HookRegistration> register_hook(const std::filesystem::path& hooks_dir,
                                                     const std::filesystem::path& hook_binary);

struct HookUnregistration {
    std::filesystem::path link;  // <hooks_dir>/qemu.d/appshare
    bool removed = false;        // this call removed the link (false: there was none)
};

// Removes appshare's registration: the link <hooks_dir>/qemu.d/appshare when it points at
// `hook_binary` (made absolute; the binary itself may be gone already), and appshare's reload
// marker. No link: nothing to do. Errors: AlreadyExists when that name holds anything else
// (another file, a link elsewhere), which is never touched; Io when it cannot be removed.
[[nodiscard]] Result<HookUnregistration> unregister_hook(const std::filesystem::path& hooks_dir,
                                                         const std::filesystem::path& hook_binary);

// A running libvirt daemon that runs qemu hooks.
struct DaemonProcess {
    long pid = 0;
    std::string name;              // "libvirtd" or "virtqemud"
    std::uint64_t start_ticks = 0; // field 22 of /proc/PID/stat (clock ticks after boot)
    double started_at = 0;         // seconds since the epoch
};

// The libvirtd / virtqemud processes in our mount namespace (the ones that read our
// /etc/libvirt), from `proc_root` (normally /proc). A process whose namespace cannot be read
// counts as ours. Never fails: unreadable entries are skipped.
[[nodiscard]] std::vector<DaemonProcess> find_libvirt_daemons(const std::filesystem::path& proc_root = "/proc");

// The daemons that cannot see the hook link yet: started before the link appeared (by its
// ctime, with a second's margin for the clock's precision) and not reloaded by appshare since
// (see record_reload).
[[nodiscard]] std::vector<DaemonProcess> daemons_needing_reload(const std::filesystem::path& hooks_dir,
                                                                const std::filesystem::path& link,
                                                                const std::vector<DaemonProcess>& daemons);

// Notes in <hooks_dir>/.appshare-reloaded that `daemon` was reloaded now.
[[nodiscard]] Result<void> record_reload(const std::filesystem::path& hooks_dir, const DaemonProcess& daemon);

// Sends SIGHUP to the daemon (libvirt's reload: it re-reads its hooks) and records it.
[[nodiscard]] Result<void> reload_daemon(const std::filesystem::path& hooks_dir, const DaemonProcess& daemon);

// What the user must do for `daemons` to see the hook, in one sentence:
// "libvirtd (pid 42) started before the appshare hook was registered and will not run it until
// reloaded: run 'systemctl reload libvirtd' (or 'kill -HUP 42', or 'appshare hook register --reload')."
// Empty when `daemons` is empty.
[[nodiscard]] std::string reload_advice(const std::vector<DaemonProcess>& daemons);

}  // namespace appshare
