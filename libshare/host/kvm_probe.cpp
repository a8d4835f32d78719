#include "host/kvm_probe.hpp"

#include "base/atomic_file.hpp"
#include "base/interrupt.hpp"
#include "base/process.hpp"
#include "base/small_file.hpp"
#include "base/text.hpp"
#include "base/time_format.hpp"
#include "base/unique_handle.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <vector>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace appshare {
namespace {

using std::chrono::milliseconds;

constexpr std::size_t kMaxOutput = 64 * 1024;
// The descriptor number the boot image has inside QEMU (QEMU opens /proc/self/fd/3).
constexpr int kGuestImageFd = 3;

std::string accel_label(std::string_view accel)
{
    std::string s(accel);
    for (char& c : s) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
    return s;
}

// The last non-empty line of QEMU's output (its error comes last, after warnings).
std::string last_line(std::string_view output)
{
    std::string line;
    std::istringstream in{std::string(output)};
    for (std::string l; std::getline(in, l);) {
        if (const auto t = trim(l); !t.empty()) line = std::string(t);
    }
    if (line.size() > 200) line = line.substr(0, 200) + "...";
    return line;
}

// The boot sector as a sealed-size anonymous file, at a descriptor number >= 10 so it can be
// dup2'ed to kGuestImageFd in the child without colliding with itself.
std::optional<UniqueFd> image_memfd(const BootSector& sector, std::string& why)
{
    UniqueFd fd(::memfd_create("appshare-kvm-probe", MFD_CLOEXEC));
    if (!fd.valid()) {
        why = std::string("memfd_create failed: ") + std::strerror(errno);
        return std::nullopt;
    }
    if (::write(fd.get(), sector.data(), sector.size()) != static_cast<ssize_t>(sector.size())) {
        why = std::string("cannot write the probe boot sector: ") + std::strerror(errno);
        return std::nullopt;
    }
    UniqueFd high(::fcntl(fd.get(), F_DUPFD_CLOEXEC, 10));
    if (!high.valid()) {
        why = std::string("cannot duplicate a descriptor: ") + std::strerror(errno);
        return std::nullopt;
    }
    return high;
}

// The outcome plus whether it is a stable fact about this host worth caching.
struct ProbeRun {
    GuestBootOutcome outcome;
    bool conclusive = false;
    bool end_killed = false;  // killed at the deadline (the guest made no progress in time)
};

ProbeRun run_probe_guest(std::string_view accel, milliseconds deadline, const BootSector& sector,
                         const std::string& qemu_path)
{
    ProbeRun r;
    const std::string label = accel_label(accel);
    std::string why;
    auto image = image_memfd(sector, why);
    if (!image) {
        r.outcome.reason = "cannot prepare the " + label + " test guest (" + why + ")";
        return r;
    }
    const std::vector<std::string> argv = {
        qemu_path,
        "-name", "appshare-kvm-probe",
        "-accel", std::string(accel),
        "-machine", "pc",
        "-m", "32",
        "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
        "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
        "-drive", "file=/proc/self/fd/" + std::to_string(kGuestImageFd) + ",format=raw,if=floppy,readonly=on",
    };
    RunOptions options;
    options.deadline = deadline;
    options.stop_on_interrupt = true;
    options.max_output = kMaxOutput;
    options.pass_fds = {{image->get(), kGuestImageFd}};
    const auto started = run_program(argv, options);
    if (!started) {
        r.outcome.reason = message_clause(started.error().message);
        return r;
    }
    const ProgramOutput& run = *started;
    r.outcome.elapsed = run.elapsed;
    switch (run.end) {
        case RunEnd::Interrupted:
            r.outcome.reason = "the " + label + " test guest was stopped by an interrupt";
            return r;
        case RunEnd::Killed:
            r.conclusive = true;
            r.end_killed = true;
            r.outcome.reason = "a test guest made no progress under " + label + " within " +
                               format_seconds(deadline, 2) + " (QEMU started, the guest never finished booting)";
            return r;
        case RunEnd::Exited:
            r.conclusive = true;
            if (run.status == kProbeExitStatus) {
                r.outcome.ran = true;
                r.outcome.reason = "a test guest booted under " + label + " in " + format_seconds(run.elapsed, 2);
                return r;
            }
            r.outcome.reason = "QEMU did not run a test guest under " + label + " (exit status " +
                               std::to_string(run.status);
            if (const auto line = last_line(run.output); !line.empty()) r.outcome.reason += ": " + line;
            r.outcome.reason += ")";
            return r;
    }
    return r;
}

std::optional<std::string> read_boot_id()
{
    constexpr std::size_t kMaxBytes = 256;
    const SmallFile file = read_small_file("/proc/sys/kernel/random/boot_id", kMaxBytes);
    const std::string_view id = trim(file.text);
    if (!file || id.empty() || id.find('\n') != std::string_view::npos) return std::nullopt;
    return std::string(id);
}

std::string one_line(std::string_view s)
{
    std::string out(s);
    for (char& c : out) {
        if (c == '\n' || c == '\r') c = ' ';
    }
    return out;
}

constexpr std::string_view kCacheHeader = "appshare-kvm-probe 1";

}  // namespace

BootSector probe_boot_sector() noexcept
{
    // Real mode, loaded at 0x7c00; only relative jumps, so CS:IP may be 0:7c00 or 7c0:0.
    static constexpr std::uint8_t code[] = {
        0x31, 0xC0,                    // xor ax, ax
        0x8E, 0xD8,                    // mov ds, ax
        0xFB,                          // sti
        0x8B, 0x1E, 0x6C, 0x04,        // mov bx, [0x046c]   ; BIOS timer tick count
        0xF4,                          // .wait: hlt         ; until an interrupt
        0x3B, 0x1E, 0x6C, 0x04,        // cmp bx, [0x046c]
        0x74, 0xF9,                    // je .wait           ; no timer tick yet
        0xB0, kProbeExitValue,         // mov al, kProbeExitValue
        0xE6, 0xF4,                    // out 0xf4, al       ; isa-debug-exit: QEMU exits
        0xFA,                          // .stop: cli
        0xF4,                          // hlt
        0xEB, 0xFD,                    // jmp .stop+1
    };
    BootSector s{};
    for (std::size_t i = 0; i < sizeof code; ++i) s[i] = code[i];
    s[510] = 0x55;
    s[511] = 0xAA;
    return s;
}

GuestBootOutcome boot_probe_guest(std::string_view accel, milliseconds deadline, const BootSector& sector,
                                  const std::string& qemu)
{
    const auto path = find_program(qemu);
    if (!path) {
        GuestBootOutcome o;
        o.reason = qemu + " was not found on PATH; install qemu-system-x86 (scripts/install-deps.sh)";
        return o;
    }
    return run_probe_guest(accel, deadline, sector, *path).outcome;
}

milliseconds kvm_allowance(milliseconds tcg_elapsed, milliseconds left) noexcept
{
    return std::min(left, std::max(milliseconds(1000), 3 * tcg_elapsed));
}

bool guest_runs_with_accel(std::string_view accel, milliseconds deadline)
{
    return boot_probe_guest(accel, deadline).ran;
}

std::string format_kvm_probe_cache(const KvmProbeCacheKey& key, const KvmProbeResult& result)
{
    std::string text(kCacheHeader);
    text += "\nboot_id=" + one_line(key.boot_id);
    text += "\nqemu=" + one_line(key.qemu_path);
    text += "\nqemu_mtime_ns=" + std::to_string(key.qemu_mtime_ns);
    text += std::string("\nkvm_runs_guests=") + (result.kvm_runs_guests ? "yes" : "no");
    text += "\nreason=" + one_line(result.reason) + "\n";
    return text;
}

std::optional<KvmProbeResult> parse_kvm_probe_cache(std::string_view text, const KvmProbeCacheKey& expected)
{
    std::istringstream in{std::string(text)};
    std::string line;
    if (!std::getline(in, line) || line != kCacheHeader) return std::nullopt;
    std::optional<std::string> boot_id, qemu, mtime, runs, reason;
    while (std::getline(in, line)) {
        const auto eq = line.find('=');
        if (eq == std::string::npos) return std::nullopt;
        const std::string key = line.substr(0, eq);
        std::string value = line.substr(eq + 1);
        if (key == "boot_id") boot_id = std::move(value);
        else if (key == "qemu") qemu = std::move(value);
        else if (key == "qemu_mtime_ns") mtime = std::move(value);
        else if (key == "kvm_runs_guests") runs = std::move(value);
        else if (key == "reason") reason = std::move(value);
    }
    if (!boot_id || !qemu || !mtime || !runs || !reason || reason->empty()) return std::nullopt;
    if (*boot_id != expected.boot_id || *qemu != expected.qemu_path ||
        *mtime != std::to_string(expected.qemu_mtime_ns)) {
        return std::nullopt;
    }
    if (*runs != "yes" && *runs != "no") return std::nullopt;
    KvmProbeResult r;
    r.kvm_runs_guests = *runs == "yes";
    r.reason = std::move(*reason);
    r.from_cache = true;
    return r;
}

KvmProbeResult probe_kvm(const KvmProbeOptions& options)
{
    KvmProbeResult result;
    {
        UniqueFd kvm(::open("/dev/kvm", O_RDWR | O_CLOEXEC));
        if (!kvm.valid()) {
            const int err = errno;
            if (err == ENOENT) {
                result.reason = "/dev/kvm is missing (no KVM on this host, or the kvm module is not loaded)";
            } else {
                result.reason = std::string("/dev/kvm cannot be opened for reading and writing: ") + std::strerror(err);
            }
            return result;
        }
    }
    const auto qemu_path = find_program(options.qemu);
    if (!qemu_path) {
        result.reason = options.qemu + " was not found on PATH; install qemu-system-x86 (scripts/install-deps.sh)";
        return result;
    }

    std::optional<KvmProbeCacheKey> key;
    if (!options.cache_file.empty()) {
        struct stat st {};
        auto boot_id = read_boot_id();
        if (boot_id && ::stat(qemu_path->c_str(), &st) == 0) {
            key = KvmProbeCacheKey{*boot_id, *qemu_path,
                                   static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec};
            constexpr std::size_t kMaxCacheBytes = 64 * 1024;
            if (const SmallFile text = read_small_file(options.cache_file, kMaxCacheBytes)) {
                if (auto cached = parse_kvm_probe_cache(text.text, *key)) return *cached;
            }
        }
    }

    // Reference: the same guest under TCG. KVM should be at least about as fast as emulation;
    // on hosts where KVM is broken (nested) it is many times slower or hangs.
    const ProbeRun tcg = run_probe_guest("tcg", options.deadline / 2, probe_boot_sector(), *qemu_path);
    if (interrupted()) {
        result.reason = tcg.outcome.reason;
        return result;
    }
    const auto left = options.deadline - std::min(tcg.outcome.elapsed, options.deadline);
    const auto allowed = tcg.outcome.ran ? kvm_allowance(tcg.outcome.elapsed, left) : left;
    const ProbeRun run = run_probe_guest("kvm", allowed, probe_boot_sector(), *qemu_path);
    result.kvm_runs_guests = run.outcome.ran;
    result.reason = run.outcome.reason;
    if (tcg.outcome.ran) {
        if (run.outcome.ran) {
            result.reason += " (TCG: " + format_seconds(tcg.outcome.elapsed, 2) + ")";
        } else if (run.end_killed) {
            result.reason = "a test guest did not finish booting under KVM within " + format_seconds(allowed, 2) +
                            " while it booted under TCG in " + format_seconds(tcg.outcome.elapsed, 2) +
                            ": KVM makes little or no progress on this host";
        }
    } else {
        result.reason += "; the same guest did not run under TCG either (" + tcg.outcome.reason + ")";
    }
    const bool conclusive = run.conclusive && (tcg.outcome.ran || run.outcome.ran);
    if (key && conclusive) {
        // The cache is an optimisation: failing to write it (not root, read-only /run) is fine.
        if (options.cache_file.has_parent_path()) {
            static_cast<void>(make_dirs(options.cache_file.parent_path(), 0755));
        }
        static_cast<void>(write_file_atomic(options.cache_file, format_kvm_probe_cache(*key, result), 0644));
    }
    return result;
}

KvmProbeResult probe_kvm(milliseconds deadline, bool use_cache)
{
    KvmProbeOptions options;
    options.deadline = deadline;
    if (!use_cache) options.cache_file.clear();
    return probe_kvm(options);
}

}  // namespace appshare
