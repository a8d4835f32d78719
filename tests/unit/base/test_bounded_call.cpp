#include "base/bounded_call.hpp"
#include "base/heartbeat.hpp"

#include <catch2/catch.hpp>

#include <thread>
#include <vector>

#include <cerrno>
#include <csignal>

#include <sys/wait.h>
#include <unistd.h>

using namespace appshare;
using namespace std::chrono_literals;

TEST_CASE("bounded_call returns the worker's answer and passes its lines on", "[bounded_call]")
{
    std::vector<std::string> lines;
    BoundedOptions o;
    o.stall = 5s;
    o.on_line = [&](const std::string& l) { lines.push_back(l); };
    const pid_t me = ::getpid();
    auto r = bounded_call(
        [&](const LineFn& send) {
            send("first");
            send(std::string(100000, 'x'));  // longer than one pipe buffer
            return std::string(::getpid() != me ? "in a child" : "in the caller");
        },
        o);
    REQUIRE(r);
    CHECK(*r == "in a child");
    REQUIRE(lines.size() == 2);
    CHECK(lines[0] == "first");
    CHECK(lines[1].size() == 100000);
}

TEST_CASE("bounded_call abandons a worker that makes no progress", "[bounded_call]")
{
    BoundedOptions o;
    o.stall = 300ms;
    o.what = "the test storage";
    SECTION("a silent worker is killed at the stall limit") {
        const auto t0 = std::chrono::steady_clock::now();
        auto r = bounded_call(
            [](const LineFn&) {
                ::pause();  // blocked, like a call on a mount whose server is gone
                return std::string("never");
            },
            o);
        const auto took = std::chrono::steady_clock::now() - t0;
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::Io);
        CHECK_THAT(r.error().message, Catch::Contains("the test storage made no progress"));
        CHECK(took >= 300ms);
        CHECK(took < 5s);
    }
    SECTION("heartbeats keep a slow worker alive past the stall limit") {
        auto r = bounded_call(
            [](const LineFn&) {
                for (int i = 0; i < 10; ++i) {
                    std::this_thread::sleep_for(110ms);
                    heartbeat();
                }
                return std::string("done");
            },
            o);
        REQUIRE(r);
        CHECK(*r == "done");
    }
    SECTION("a worker that dies gives no answer") {
        auto r = bounded_call(
            [](const LineFn&) -> std::string {
                ::_exit(7);
            },
            o);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::Internal);
        CHECK_THAT(r.error().message, Catch::Contains("exit status 7"));
    }
}

TEST_CASE("the worker dies with its caller", "[bounded_call]")
{
    int report[2];
    REQUIRE(::pipe(report) == 0);
    const pid_t caller = ::fork();
    REQUIRE(caller >= 0);
    if (caller == 0) {
        BoundedOptions o;
        o.stall = 60s;
        static_cast<void>(bounded_call(
            [&](const LineFn&) {
                const pid_t me = ::getpid();
                static_cast<void>(::write(report[1], &me, sizeof me));
                ::pause();
                return std::string();
            },
            o));
        ::_exit(0);
    }
    ::close(report[1]);
    pid_t worker = 0;
    REQUIRE(::read(report[0], &worker, sizeof worker) == static_cast<ssize_t>(sizeof worker));
    ::close(report[0]);
    REQUIRE(::kill(caller, SIGKILL) == 0);
    int status = 0;
    REQUIRE(::waitpid(caller, &status, 0) == caller);
    // The worker was re-parented when its caller died, and must be gone soon after.
    bool gone = false;
    for (int i = 0; i < 100 && !gone; ++i) {
        gone = ::kill(worker, 0) != 0 && errno == ESRCH;
        if (!gone) std::this_thread::sleep_for(20ms);
    }
    CHECK(gone);
}
