#include "base/process.hpp"

#include <catch2/catch.hpp>

#include <unistd.h>

using namespace appshare;
using namespace std::chrono_literals;

TEST_CASE("run_program runs a program with an argv vector and captures its output", "[process]")
{
    SECTION("exit status and both output streams") {
        const auto r = run_program({"sh", "-c", "echo out; echo err >&2; exit 3"});
        REQUIRE(r);
        CHECK(r->end == RunEnd::Exited);
        CHECK(r->status == 3);
        CHECK(r->output == "out\nerr\n");
    }
    SECTION("arguments are passed as they are, never through a shell") {
        const auto r = run_program({"printf", "%s|", "a b", "$HOME", ";rm"});
        REQUIRE(r);
        CHECK(r->output == "a b|$HOME|;rm|");
    }
    SECTION("a missing program is an Io error naming it") {
        const auto r = run_program({"appshare-no-such-program"});
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::Io);
        CHECK_THAT(r.error().message, Catch::Contains("appshare-no-such-program"));
    }
    SECTION("output beyond the cap is dropped") {
        RunOptions o;
        o.max_output = 10;
        const auto r = run_program({"sh", "-c", "head -c 100000 /dev/zero"}, o);
        REQUIRE(r);
        CHECK(r->status == 0);
        CHECK(r->output.size() == 10);
    }
    SECTION("a program still running at its deadline is killed") {
        RunOptions o;
        o.deadline = 200ms;
        const auto r = run_program({"sleep", "30"}, o);
        REQUIRE(r);
        CHECK(r->end == RunEnd::Killed);
        CHECK(r->elapsed < 10s);
    }
    SECTION("a program that closes its output early is still waited for") {
        const auto r = run_program({"sh", "-c", "exec >&- 2>&-; sleep 0.2; exit 4"});
        REQUIRE(r);
        CHECK(r->status == 4);
    }
    SECTION("descriptors can be passed at a chosen number") {
        int p[2];
        REQUIRE(::pipe(p) == 0);
        REQUIRE(::write(p[1], "x", 1) == 1);
        ::close(p[1]);
        RunOptions o;
        o.pass_fds = {{p[0], 5}};
        const auto r = run_program({"sh", "-c", "cat <&5"}, o);
        ::close(p[0]);
        REQUIRE(r);
        CHECK(r->output == "x");
    }
}

TEST_CASE("find_program looks a name up on PATH", "[process]")
{
    CHECK(find_program("sh").has_value());
    CHECK(find_program("/bin/sh") == "/bin/sh");
    CHECK_FALSE(find_program("appshare-no-such-program"));
}
