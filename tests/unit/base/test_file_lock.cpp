#include "base/file_lock.hpp"
#include "base/interrupt.hpp"

#include "support/lock_holder.hpp"
#include "support/test_support.hpp"

#include <catch2/catch.hpp>

#include <csignal>
#include <thread>

#include <sys/wait.h>
#include <unistd.h>

using namespace appshare;
using namespace std::chrono_literals;

namespace {

// The other process's holder record (pid 0: its own pid).
const LockHolder kHostA{"host-a", 0, "web1", "load base"};

}  // namespace

TEST_CASE("file lock: exclusive, bounded wait, holder recorded", "[lock]")
{
    test::TempDir dir;
    const auto lock = dir / "base.lock";
    const LockHolder me{"host-b", getpid(), "web2", "load base"};

    SECTION("free lock is taken at once and released on destruction") {
        {
            auto l = FileLock::acquire(lock, 0ms, me);
            REQUIRE(l);
            CHECK_THAT(describe_lock_holder(lock), Catch::Contains("host-b") && Catch::Contains("web2"));
        }
        auto again = FileLock::acquire(lock, 0ms, me);
        CHECK(again);
    }
    SECTION("held past the limit: LockTimeout naming the holder") {
        test::LockHolderProcess holder(lock, 5000ms, kHostA);
        const pid_t child = holder.pid();
        std::string noticed;
        const auto t0 = std::chrono::steady_clock::now();
        auto l = FileLock::acquire(lock, 300ms, me, [&](const std::string& h) { noticed = h; });
        const auto waited = std::chrono::steady_clock::now() - t0;
        holder.kill();
        REQUIRE_FALSE(l);
        CHECK(l.error().code == ErrorCode::LockTimeout);
        CHECK_THAT(l.error().message, Catch::Contains("host-a") && Catch::Contains("web1") &&
                                          Catch::Contains("pid " + std::to_string(child)));
        CHECK_THAT(noticed, Catch::Contains("host-a"));
        CHECK(waited >= 300ms);
    }
    SECTION("waits while held, then gets it when released") {
        test::LockHolderProcess holder(lock, 400ms, kHostA);
        auto l = FileLock::acquire(lock, 10000ms, me);
        holder.kill();
        REQUIRE(l);
        CHECK_THAT(describe_lock_holder(lock), Catch::Contains("host-b"));
    }
    SECTION("a holder killed with SIGKILL leaves no lock behind") {
        test::LockHolderProcess holder(lock, 60000ms, kHostA);
        REQUIRE_FALSE(FileLock::acquire(lock, 0ms, me));
        holder.kill();
        CHECK(FileLock::acquire(lock, 0ms, me));
    }
    SECTION("a symlink as lock file is refused") {
        std::filesystem::create_symlink("/etc/passwd", lock);
        auto l = FileLock::acquire(lock, 0ms, me);
        REQUIRE_FALSE(l);
        CHECK(l.error().code == ErrorCode::UnsafePath);
    }
}

TEST_CASE("a lock wait ends at Ctrl-C instead of its deadline", "[lock]")
{
    test::TempDir dir;
    const auto lock = dir / "base.lock";
    const test::LockHolderProcess holder(lock, 30000ms, kHostA);
    const auto t0 = std::chrono::steady_clock::now();
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        install_interrupt_handlers();
        auto l = FileLock::acquire(lock, 20000ms, LockHolder{"host-b", ::getpid(), "web2", "load base"});
        ::_exit(!l && l.error().code == ErrorCode::Interrupted ? 0 : 1);
    }
    std::this_thread::sleep_for(300ms);
    REQUIRE(::kill(child, SIGINT) == 0);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    CHECK(std::chrono::steady_clock::now() - t0 < 10s);
}
