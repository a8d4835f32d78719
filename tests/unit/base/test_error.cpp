#include "base/error.hpp"
#include "base/result.hpp"

#include <catch2/catch.hpp>

using namespace appshare;

namespace {
Result<int> parse_positive(int v)
{
    if (v <= 0) return make_error(ErrorCode::BadManifest, "value must be positive");
    return v;
}
}  // namespace

TEST_CASE("Result carries a value or an error with its exit status", "[error]")
{
    SECTION("value") {
        auto r = parse_positive(3);
        REQUIRE(r);
        CHECK(*r == 3);
    }
    SECTION("error") {
        auto r = parse_positive(-1);
        REQUIRE_FALSE(r);
        CHECK(r.error().exit_status() == 3);
        CHECK(error_code_name(r.error().code) == "bad-manifest");
    }
}

TEST_CASE("nested messages: clause and what failed", "[error]")
{
    CHECK(message_clause("cannot read x: No such file. ") == "cannot read x: No such file");
    CHECK(message_what_failed("no source gave a copy (a: gone; b: refused); make one reachable.") ==
          "no source gave a copy (a: gone; b: refused)");
    CHECK(message_what_failed("the lock is busy.") == "the lock is busy");
}

TEST_CASE("every error message is one finished sentence", "[error]")
{
    CHECK(make_error(ErrorCode::Io, "cannot read x").message == "cannot read x.");
    CHECK(make_error(ErrorCode::Io, "cannot read x.").message == "cannot read x.");
    CHECK(make_error(ErrorCode::Libvirt, "is libvirtd running?").message == "is libvirtd running?");
    CHECK(make_error(ErrorCode::Io, "stop!").message == "stop!");
    CHECK(make_error(ErrorCode::Io, "trailing space ").message == "trailing space.");
    CHECK(finish_sentence("") == "");
}

TEST_CASE("a message ends with exactly one punctuation mark", "[error]")
{
    CHECK(finish_sentence("is libvirtd running, and may this user use it?.") == "is libvirtd running, and may this user use it?");
    CHECK(make_error(ErrorCode::Libvirt, "may this user use it?.").message == "may this user use it?");
    CHECK(finish_sentence("cannot read x: No such file..") == "cannot read x: No such file.");
    CHECK(finish_sentence("stop!.") == "stop!");
    CHECK(finish_sentence("really?!") == "really?");
    CHECK(finish_sentence("done. ") == "done.");
    CHECK(finish_sentence("...") == ".");
    // Marks inside the sentence stay.
    CHECK(finish_sentence("is it 'a.b'? no") == "is it 'a.b'? no.");
    // A finished sentence nests as a clause again.
    CHECK(message_clause(make_error(ErrorCode::Io, "inner").message) == "inner");
}
