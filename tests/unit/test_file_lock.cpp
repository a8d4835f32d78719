#include "core/file_lock.hpp"

#include "support/test_support.hpp"

#include <catch2/catch.hpp>

#include <csignal>
#include <thread>

#include <sys/wait.h>
#include <unistd.h>

using namespace appshare;
using namespace std::chrono_literals;

namespace {

// Forks a child that takes the lock, signals readiness through a pipe, and holds it for `hold`
// (or until killed). Returns its pid.
pid_t hold_lock_in_child(const std::filesystem::path& lock, std::chrono::milliseconds hold)
{
    int ready[2];
    REQUIRE(pipe(ready) == 0);
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        close(ready[0]);
        auto l = FileLock::acquire(lock, 0ms, LockHolder{"host-a", getpid(), "web1", "load base"});
        const char c = l ? 'y' : 'n';
        [[maybe_unused]] auto n = write(ready[1], &c, 1);
        std::this_thread::sleep_for(hold);
        _exit(0);
    }
    close(ready[1]);
    char c = 0;
    REQUIRE(read(ready[0], &c, 1) == 1);
    close(ready[0]);
    REQUIRE(c == 'y');
    return pid;
}

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
        const pid_t child = hold_lock_in_child(lock, 5000ms);
        std::string noticed;
        const auto t0 = std::chrono::steady_clock::now();
        auto l = FileLock::acquire(lock, 300ms, me, [&](const std::string& h) { noticed = h; });
        const auto waited = std::chrono::steady_clock::now() - t0;
        kill(child, SIGKILL);
        waitpid(child, nullptr, 0);
        REQUIRE_FALSE(l);
        CHECK(l.error().code == ErrorCode::LockTimeout);
        CHECK_THAT(l.error().message, Catch::Contains("host-a") && Catch::Contains("web1") &&
                                          Catch::Contains("pid " + std::to_string(child)));
        CHECK_THAT(noticed, Catch::Contains("host-a"));
        CHECK(waited >= 300ms);
    }
    SECTION("waits while held, then gets it when released") {
        const pid_t child = hold_lock_in_child(lock, 400ms);
        auto l = FileLock::acquire(lock, 10000ms, me);
        waitpid(child, nullptr, 0);
        REQUIRE(l);
        CHECK_THAT(describe_lock_holder(lock), Catch::Contains("host-b"));
    }
    SECTION("a holder killed with SIGKILL leaves no lock behind") {
        const pid_t child = hold_lock_in_child(lock, 60000ms);
        REQUIRE_FALSE(FileLock::acquire(lock, 0ms, me));
        kill(child, SIGKILL);
        waitpid(child, nullptr, 0);
        CHECK(FileLock::acquire(lock, 0ms, me));
    }
    SECTION("a symlink as lock file is refused") {
        std::filesystem::create_symlink("/etc/passwd", lock);
        auto l = FileLock::acquire(lock, 0ms, me);
        REQUIRE_FALSE(l);
        CHECK(l.error().code == ErrorCode::UnsafePath);
    }
}
