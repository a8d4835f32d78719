// The command's reporting (plugin/report.hpp): every error it prints is one sentence, finished
// in one place.
#include "plugin/report.hpp"

#include <catch2/catch.hpp>

#include <functional>
#include <iostream>
#include <sstream>
#include <stdexcept>

using namespace appshare;
using namespace appshare::cli;

namespace {

// What `call` prints on stderr, and the status it returns.
std::pair<std::string, int> on_stderr(const std::function<int()>& call)
{
    std::ostringstream err;
    std::streambuf* old = std::cerr.rdbuf(err.rdbuf());
    const int status = call();
    std::cerr.rdbuf(old);
    return {err.str(), status};
}

// What report_error prints on stderr, and the status it returns.
std::pair<std::string, int> reported(const Error& e)
{
    return on_stderr([&] { return report_error(e); });
}

}  // namespace

TEST_CASE("report_error prints one finished sentence and returns the exit status", "[cli][report]")
{
    SECTION("a message without a final stop gets one")
    {
        const auto [out, status] = reported(make_error(ErrorCode::Libvirt, "cannot reach libvirt"));
        CHECK(out == "appshare: cannot reach libvirt.\n");
        CHECK(status == 8);
    }

    SECTION("a sentence already finished by '.', '?' or '!' is left as it is")
    {
        CHECK(reported(make_error(ErrorCode::NotFound, "no domain named 'a'.")).first == "appshare: no domain named 'a'.\n");
        CHECK(reported(make_error(ErrorCode::Libvirt, "x failed; is libvirtd running?")).first ==
              "appshare: x failed; is libvirtd running?\n");
        CHECK(reported(make_error(ErrorCode::Usage, "stop!")).first == "appshare: stop!\n");
    }

    SECTION("the JSON form carries the same sentence")
    {
        const auto j = error_json(make_error(ErrorCode::NotFound, "no such domain"));
        CHECK(j["error"]["message"] == "no such domain.");
        CHECK(j["error"]["code"] == "not-found");
        CHECK(j["error"]["exit_status"] == 11);
    }
}

namespace {

// What `action` prints on stderr through report_exceptions, and the status it returns.
std::pair<std::string, int> guarded(const std::function<int()>& action)
{
    return on_stderr([&] { return report_exceptions(action); });
}

}  // namespace

TEST_CASE("errors and notices from outside are escaped on their way to the terminal", "[cli][report]")
{
    const std::string evil = "web\x1b[2J\nforged\r\xc2\x9b\xff";
    const std::string escaped = "web\\x1b[2J\\x0aforged\\x0d\\xc2\\x9b\\xff";
    CHECK(reported(make_error(ErrorCode::NotFound, "no domain named " + evil)).first ==
          "appshare: no domain named " + escaped + ".\n");
    const auto j = error_json(make_error(ErrorCode::NotFound, "no domain named " + evil));
    CHECK(j["error"]["message"] == "no domain named " + escaped + ".");
    CHECK_NOTHROW(j.dump());  // raw invalid UTF-8 would make dump() throw

    const auto notice = on_stderr([&] {
        report_notice("waiting for a lock held by pid 1 on " + evil);
        return 0;
    });
    CHECK(notice.first == "appshare: waiting for a lock held by pid 1 on " + escaped + "\n");
}

TEST_CASE("the command's catch-all turns anything thrown into one escaped sentence and exit 1", "[cli][report]")
{
    const auto [out, status] = guarded([]() -> int { throw std::runtime_error("boom\x1b[2J\nline"); });
    CHECK(status == 1);
    CHECK(out == "appshare: failed unexpectedly (boom\\x1b[2J\\x0aline); please report this.\n");
    const auto [odd, odd_status] = guarded([]() -> int { throw 42; });
    CHECK(odd_status == 1);
    CHECK(odd == "appshare: failed unexpectedly; please report this.\n");
    CHECK(guarded([] { return 7; }) == std::pair<std::string, int>{"", 7});
}
