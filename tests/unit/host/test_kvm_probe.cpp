#include "host/kvm_probe.hpp"

#include "support/skip.hpp"
#include "support/test_support.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <unistd.h>

using namespace appshare;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// Processes (zombies included) whose parent is this test process: QEMU must not be one of them.
int child_process_count()
{
    int count = 0;
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
        const auto name = entry.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos) continue;
        std::ifstream in(entry.path() / "stat");
        std::string stat;
        if (!std::getline(in, stat)) continue;  // exited meanwhile
        const auto close = stat.rfind(')');
        if (close == std::string::npos) continue;
        std::istringstream rest(stat.substr(close + 1));
        std::string state;
        long ppid = 0;
        rest >> state >> ppid;
        if (ppid == static_cast<long>(getpid())) ++count;
    }
    return count;
}

std::chrono::milliseconds since(Clock::time_point start)
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
}

bool kvm_device_usable()
{
    const int fd = ::open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0) return false;
    ::close(fd);
    return true;
}

}  // namespace

TEST_CASE("probe boot sector is a bootable sector that exits through isa-debug-exit", "[kvm_probe]")
{
    const BootSector s = probe_boot_sector();
    CHECK(s[510] == 0x55);
    CHECK(s[511] == 0xAA);
    // "mov al, value; out 0xf4, al" is in the code.
    bool found = false;
    for (std::size_t i = 0; i + 3 < 510; ++i) {
        if (s[i] == 0xB0 && s[i + 1] == kProbeExitValue && s[i + 2] == 0xE6 && s[i + 3] == 0xF4) found = true;
    }
    CHECK(found);
}

TEST_CASE("probe guest boots under TCG", "[kvm_probe][qemu]")
{
    SECTION("boot_probe_guest reports the run and its time")
    {
        const auto start = Clock::now();
        const GuestBootOutcome o = boot_probe_guest("tcg", 15s);
        INFO(o.reason);
        // ran: QEMU exited with kProbeExitStatus, what isa-debug-exit makes of kProbeExitValue
        // (the other value below gives (0x10 << 1) | 1 = 33).
        CHECK(o.ran);
        CHECK(o.reason.find("booted under TCG") != std::string::npos);
        CHECK(o.elapsed < 15s);
        CHECK(since(start) < 16s);
        CHECK(child_process_count() == 0);
    }
    SECTION("guest_runs_with_accel")
    {
        CHECK(guest_runs_with_accel("tcg", 15s));
        CHECK(child_process_count() == 0);
    }
}

TEST_CASE("a guest that does not reach its exit port is killed at the deadline", "[kvm_probe][qemu]")
{
    const auto deadline = 1500ms;
    BootSector sector = probe_boot_sector();
    std::string expected_reason;

    SECTION("no boot signature")
    {
        sector[510] = 0;
        sector[511] = 0;
        expected_reason = "made no progress under TCG";
    }
    SECTION("infinite loop")
    {
        sector[0] = 0xEB;  // jmp $
        sector[1] = 0xFE;
        expected_reason = "made no progress under TCG";
    }
    SECTION("interrupts never enabled: the guest waits for a timer tick forever")
    {
        sector[4] = 0xFA;  // cli instead of sti
        expected_reason = "made no progress under TCG";
    }
    SECTION("wrong exit value")
    {
        for (std::size_t i = 0; i + 1 < 510; ++i) {
            if (sector[i] == 0xB0 && sector[i + 1] == kProbeExitValue) sector[i + 1] = 0x10;
        }
        expected_reason = "exit status 33";
    }

    const auto start = Clock::now();
    const GuestBootOutcome o = boot_probe_guest("tcg", deadline, sector);
    const auto took = since(start);
    INFO(o.reason);
    CHECK_FALSE(o.ran);
    CHECK(o.reason.find(expected_reason) != std::string::npos);
    CHECK(took < deadline + 1s);
    CHECK(child_process_count() == 0);
}

TEST_CASE("a missing or refusing QEMU answers false at once", "[kvm_probe][qemu]")
{
    SECTION("QEMU binary missing")
    {
        const auto start = Clock::now();
        const auto o = boot_probe_guest("tcg", 5s, probe_boot_sector(), "/nonexistent/qemu-system-x86_64");
        INFO(o.reason);
        CHECK_FALSE(o.ran);
        CHECK(o.reason.find("/nonexistent/qemu-system-x86_64") != std::string::npos);
        CHECK(since(start) < 1s);
    }
    SECTION("QEMU name not on PATH")
    {
        const auto o = boot_probe_guest("tcg", 5s, probe_boot_sector(), "no-such-qemu-binary");
        CHECK_FALSE(o.ran);
        CHECK(o.reason.find("no-such-qemu-binary was not found on PATH") != std::string::npos);
    }
    SECTION("unknown accelerator")
    {
        const auto start = Clock::now();
        const auto o = boot_probe_guest("nosuchaccel", 5s);
        INFO(o.reason);
        CHECK_FALSE(o.ran);
        CHECK(o.reason.find("QEMU did not run a test guest under NOSUCHACCEL (exit status 1") != std::string::npos);
        CHECK(since(start) < 5s);
        CHECK(child_process_count() == 0);
    }
}

TEST_CASE("kvm probe cache text", "[kvm_probe]")
{
    const KvmProbeCacheKey key{"bae83ee7-4a64-4047-a040-1de8503c44fb", "/usr/bin/qemu-system-x86_64", 1700000000123456789};
    KvmProbeResult result;
    result.kvm_runs_guests = false;
    result.reason = "a test guest made no progress under KVM within 5.00 s";
    const std::string text = format_kvm_probe_cache(key, result);

    SECTION("round trip for the same key")
    {
        const auto back = parse_kvm_probe_cache(text, key);
        REQUIRE(back.has_value());
        CHECK_FALSE(back->kvm_runs_guests);
        CHECK(back->reason == result.reason);
        CHECK(back->from_cache);

        result.kvm_runs_guests = true;
        result.reason = "a test guest booted under KVM in 0.31 s";
        const auto yes = parse_kvm_probe_cache(format_kvm_probe_cache(key, result), key);
        REQUIRE(yes.has_value());
        CHECK(yes->kvm_runs_guests);
    }
    SECTION("another boot, another QEMU binary or another mtime: stale")
    {
        auto other = key;
        other.boot_id = "00000000-0000-0000-0000-000000000000";
        CHECK_FALSE(parse_kvm_probe_cache(text, other).has_value());
        other = key;
        other.qemu_path = "/usr/local/bin/qemu-system-x86_64";
        CHECK_FALSE(parse_kvm_probe_cache(text, other).has_value());
        other = key;
        other.qemu_mtime_ns += 1;
        CHECK_FALSE(parse_kvm_probe_cache(text, other).has_value());
    }
    SECTION("malformed text is ignored")
    {
        CHECK_FALSE(parse_kvm_probe_cache("", key).has_value());
        CHECK_FALSE(parse_kvm_probe_cache("garbage\n", key).has_value());
        auto bad = text;
        bad.replace(bad.find("kvm_runs_guests=no"), 18, "kvm_runs_guests=maybe");
        CHECK_FALSE(parse_kvm_probe_cache(bad, key).has_value());
        auto no_reason = text.substr(0, text.find("reason="));
        CHECK_FALSE(parse_kvm_probe_cache(no_reason, key).has_value());
    }
    SECTION("a reason with a newline stays on one line")
    {
        result.reason = "line one\nline two";
        const auto back = parse_kvm_probe_cache(format_kvm_probe_cache(key, result), key);
        REQUIRE(back.has_value());
        CHECK(back->reason == "line one line two");
    }
}

TEST_CASE("probe_kvm answers within its deadline and caches the answer", "[kvm_probe][qemu]")
{
    test::TempDir dir;
    const auto deadline = 2s;

    SECTION("first call probes, second call reads the cache")
    {
        KvmProbeOptions options;
        options.deadline = deadline;
        options.cache_file = dir / "run" / "appshare" / "kvm-probe";

        auto start = Clock::now();
        const KvmProbeResult first = probe_kvm(options);
        const auto first_took = since(start);
        INFO(first.reason << " (" << first_took.count() << " ms)");
        CHECK(first_took < deadline + 1s);
        CHECK_FALSE(first.reason.empty());
        CHECK_FALSE(first.from_cache);
        CHECK(child_process_count() == 0);

        if (kvm_device_usable()) {
            // A guest was run: its answer is cached for this boot and this QEMU.
            REQUIRE(std::filesystem::exists(options.cache_file));
            const std::string text = test::read_file(options.cache_file);
            CHECK(text.find("kvm_runs_guests=" + std::string(first.kvm_runs_guests ? "yes" : "no")) != std::string::npos);

            start = Clock::now();
            const KvmProbeResult second = probe_kvm(options);
            const auto second_took = since(start);
            CHECK(second.from_cache);
            CHECK(second.kvm_runs_guests == first.kvm_runs_guests);
            CHECK(second.reason == first.reason);
            CHECK(second_took < 500ms);
        } else {
            // Answered from /dev/kvm alone, nothing worth caching.
            CHECK_FALSE(first.kvm_runs_guests);
            CHECK(first.reason.find("/dev/kvm") != std::string::npos);
            CHECK_FALSE(std::filesystem::exists(options.cache_file));
        }
    }
    // The rest needs a guest run: without a usable /dev/kvm, probe_kvm answers from that alone
    // and never reads or writes its cache.
    if (!kvm_device_usable()) {
        test::skip("no usable /dev/kvm here, so probe_kvm's cache of a guest run is not exercised");
    } else {
        SECTION("a stale cache (other boot) is not used and is replaced")
        {
            KvmProbeOptions options;
            options.deadline = deadline;
            options.cache_file = dir / "kvm-probe";
            const KvmProbeCacheKey stale{"00000000-0000-0000-0000-000000000000", "/usr/bin/qemu-system-x86_64", 1};
            test::write_file(options.cache_file,
                             format_kvm_probe_cache(stale, KvmProbeResult{true, "stale sentinel", false}));
            const KvmProbeResult r = probe_kvm(options);
            CHECK_FALSE(r.from_cache);
            CHECK(r.reason != "stale sentinel");
            CHECK(test::read_file(options.cache_file).find("stale sentinel") == std::string::npos);
        }
        SECTION("a cache that cannot be written is ignored")
        {
            test::write_file(dir / "not-a-directory", "x");
            KvmProbeOptions options;
            options.deadline = deadline;
            options.cache_file = dir / "not-a-directory" / "kvm-probe";
            const auto start = Clock::now();
            const KvmProbeResult r = probe_kvm(options);
            CHECK(since(start) < deadline + 1s);
            CHECK_FALSE(r.reason.empty());
            CHECK_FALSE(r.from_cache);
        }
        SECTION("without a cache every call probes")
        {
            // use_cache = false: no cache file, not even the default one, so the answer of the first
            // guest run is not what the second call returns.
            const KvmProbeResult a = probe_kvm(deadline, false);
            const KvmProbeResult b = probe_kvm(deadline, false);
            CHECK_FALSE(a.reason.empty());
            CHECK_FALSE(a.from_cache);
            CHECK_FALSE(b.from_cache);
        }
    }
}

TEST_CASE("kvm allowance: KVM must be about as fast as TCG", "[kvm_probe]")
{
    CHECK(kvm_allowance(200ms, 5s) == 1s);       // floor of 1 s
    CHECK(kvm_allowance(500ms, 5s) == 1500ms);   // 3 x TCG on a slow (loaded) host
    CHECK(kvm_allowance(2s, 5s) == 5s);          // never more than what is left
    CHECK(kvm_allowance(200ms, 300ms) == 300ms);
}
