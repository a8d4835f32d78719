// Does KVM really run guests on this host? /dev/kvm alone does not say: on some hosts (nested
// virtualisation) QEMU starts under KVM and the guest then crawls or makes no progress. So we
// boot a tiny guest through QEMU's real firmware (SeaBIOS) under `-accel kvm` and watch
// whether it reaches its exit port in about the time the same guest needs under TCG.
//
// The guest is a 512-byte boot sector, generated here, booted from a read-only floppy image
// held in a memfd. It enables interrupts, waits for one BIOS timer tick (so firmware, disk
// boot, timer interrupts and port I/O all had to work), then writes kProbeExitValue to the
// isa-debug-exit device, which makes QEMU exit with status (value << 1) | 1. A real-mode
// loop at the reset vector alone is not enough: on this machine kind it runs under KVM in
// 0.1 s while SeaBIOS takes seconds or hangs (every VM exit is very slow there).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace appshare {

// The value the probe guest writes to the isa-debug-exit port (0xf4).
inline constexpr std::uint8_t kProbeExitValue = 0x2a;
// The exit status QEMU then reports: (value << 1) | 1.
inline constexpr int kProbeExitStatus = (kProbeExitValue << 1) | 1;

using BootSector = std::array<std::uint8_t, 512>;

// The probe guest described above, with the 0x55AA signature.
[[nodiscard]] BootSector probe_boot_sector() noexcept;

struct GuestBootOutcome {
    bool ran = false;                      // QEMU exited with kProbeExitStatus before the deadline
    std::string reason;                    // one sentence saying what happened
    std::chrono::milliseconds elapsed{0};  // from starting QEMU until it exited or was killed
};

// Boots `sector` with `qemu` (a name looked up in PATH, or a path) under `-accel <accel>`
// ("kvm", "tcg") on `-machine pc`. QEMU is SIGKILLed and reaped at the deadline (or on
// SIGINT/SIGTERM, see base/interrupt.hpp), so no QEMU is left behind. Never throws; a QEMU
// that cannot be started or refuses the accelerator gives ran == false with its reason.
[[nodiscard]] GuestBootOutcome boot_probe_guest(std::string_view accel, std::chrono::milliseconds deadline,
                                                const BootSector& sector = probe_boot_sector(),
                                                const std::string& qemu = "qemu-system-x86_64");

// boot_probe_guest(accel, deadline).ran
[[nodiscard]] bool guest_runs_with_accel(std::string_view accel, std::chrono::milliseconds deadline);

struct KvmProbeResult {
    bool kvm_runs_guests = false;
    // One sentence: "a test guest booted under KVM in 0.12 s (TCG: 0.20 s)", "a test guest
    // did not finish booting under KVM within 1.00 s while it booted under TCG in 0.20 s: ...",
    // "/dev/kvm is missing ...".
    std::string reason;
    bool from_cache = false;  // the answer was read from the cache file, nothing was run
};

inline constexpr std::string_view kDefaultKvmProbeCache = "/run/appshare/kvm-probe";

struct KvmProbeOptions {
    std::chrono::milliseconds deadline{5000};
    // Where the answer is remembered for this boot and this QEMU binary; empty: no cache.
    std::filesystem::path cache_file{kDefaultKvmProbeCache};
    std::string qemu = "qemu-system-x86_64";  // a name looked up in PATH, or a path
};

// Answers "does KVM run guests here?": false at once when /dev/kvm is missing or not
// readable and writable. Else boots the probe guest under TCG (given deadline / 2) as a
// reference, then under KVM, which must finish within kvm_allowance(TCG time, what is left of
// the deadline): KVM that is many times slower than emulation counts as not running guests.
// (On this machine kind KVM takes 2 to 6 s or hangs for a guest TCG boots in 0.2 s.)
// The answer of a guest run is cached in options.cache_file keyed by the boot id and the QEMU
// binary's path and mtime, so a reboot or a QEMU upgrade probes again; a cache that cannot be
// read or written is ignored. Takes at most about the deadline plus the time to kill QEMU.
// Never throws.
[[nodiscard]] KvmProbeResult probe_kvm(const KvmProbeOptions& options);
// Same, with the default QEMU and /run/appshare/kvm-probe when use_cache.
[[nodiscard]] KvmProbeResult probe_kvm(std::chrono::milliseconds deadline = std::chrono::seconds(5),
                                       bool use_cache = true);

// How long the KVM run may take when the TCG run took `tcg_elapsed`: max(1 s, 3 x TCG), at
// most `left`. A working KVM boots the probe guest at least about as fast as TCG does.
[[nodiscard]] std::chrono::milliseconds kvm_allowance(std::chrono::milliseconds tcg_elapsed,
                                                     std::chrono::milliseconds left) noexcept;

// What a cached answer is valid for.
struct KvmProbeCacheKey {
    std::string boot_id;           // /proc/sys/kernel/random/boot_id
    std::string qemu_path;         // the QEMU binary actually run (resolved through PATH)
    std::int64_t qemu_mtime_ns = 0;
};

// The cache file's text ("key=value" lines) and its reader. The reader returns the cached
// result (from_cache set) only when the text is well formed and was written for `expected`.
[[nodiscard]] std::string format_kvm_probe_cache(const KvmProbeCacheKey& key, const KvmProbeResult& result);
[[nodiscard]] std::optional<KvmProbeResult> parse_kvm_probe_cache(std::string_view text,
                                                                 const KvmProbeCacheKey& expected);

}  // namespace appshare
