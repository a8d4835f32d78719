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

TEST_CASE("the note of the previous holder is read under the lock, and can be put back", "[lock]")
{
    test::TempDir dir;
    const auto lock = dir / "base.lock";
    {
        auto first = FileLock::acquire(lock, 0ms, LockHolder{"host-a", 1, "web1", "load base"});
        REQUIRE(first);
        CHECK_FALSE(first->previous_note());
    }
    const auto before = test::read_file(lock);
    {
        auto looker = FileLock::acquire(lock, 0ms, LockHolder{"host-b", 2, "appshare gc", "garbage collection"});
        REQUIRE(looker);
        REQUIRE(looker->previous_note());
        CHECK(looker->previous_note()->holder.host == "host-a");
        CHECK(looker->previous_note()->holder.domain == "web1");
        CHECK_FALSE(looker->previous_note()->since.empty());
        CHECK_THAT(describe_lock_holder(lock), Catch::Contains("host-b"));
        looker->restore_previous_note();
    }
    CHECK(test::read_file(lock) == before);
    const auto note = read_lock_note(lock);
    REQUIRE(note);
    CHECK(note->holder.host == "host-a");
}

TEST_CASE("lock_is_held looks without taking or writing", "[lock]")
{
    test::TempDir dir;
    const auto lock = dir / "base.lock";
    CHECK_FALSE(lock_is_held(lock));
    CHECK_FALSE(std::filesystem::exists(lock));
    {
        test::LockHolderProcess holder(lock, 10000ms, kHostA);
        const auto note = test::read_file(lock);
        CHECK(lock_is_held(lock));
        CHECK(test::read_file(lock) == note);
    }
    CHECK_FALSE(lock_is_held(lock));
}

TEST_CASE("a lock file removed by its holder: the waiter locks the file now at that name", "[lock]")
{
    test::TempDir dir;
    const auto lock = dir / "base.lock";
    // The holder (as gc does) removes the lock file while holding it, then lets go.
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        auto l = FileLock::acquire(lock, 0ms, LockHolder{"host-a", ::getpid(), "appshare gc", "garbage collection"});
        const char c = l ? 'y' : 'n';
        [[maybe_unused]] auto n = ::write(fds[1], &c, 1);
        std::this_thread::sleep_for(300ms);
        ::unlink(lock.c_str());
        ::_exit(0);
    }
    ::close(fds[1]);
    char c = 0;
    REQUIRE(::read(fds[0], &c, 1) == 1);
    ::close(fds[0]);
    REQUIRE(c == 'y');
    // This waiter opened the file before it was removed.
    auto waiter = FileLock::acquire(lock, 10000ms, LockHolder{"host-b", ::getpid(), "web2", "load base"});
    ::waitpid(child, nullptr, 0);
    REQUIRE(waiter);
    // Whoever comes next must find the lock taken: the waiter holds the file at the name.
    REQUIRE(std::filesystem::exists(lock));
    auto next = FileLock::acquire(lock, 0ms, LockHolder{"host-c", 3, "web3", "load base"});
    CHECK_FALSE(next);
}

TEST_CASE("file lock: a holder whose name is not UTF-8 is written, not thrown on", "[lock]")
{
    test::TempDir dir;
    const auto file = dir / "x.lock";
    LockHolder me{"host", 1, std::string("web\xff"), "load base"};
    auto lock = FileLock::acquire(file, 100ms, me);
    REQUIRE(lock);
    const auto note = read_lock_note(file);
    REQUIRE(note);
    CHECK(note->holder.domain == "web\xef\xbf\xbd");
}
