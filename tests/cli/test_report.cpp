// The command's reporting (plugin/report.hpp): every error it prints is one sentence, finished
// in one place.
#include "plugin/report.hpp"

#include <catch2/catch.hpp>

#include <iostream>
#include <sstream>

using namespace appshare;
using namespace appshare::cli;

namespace {

// What report_error prints on stderr, and the status it returns.
std::pair<std::string, int> reported(const Error& e)
{
    std::ostringstream err;
    std::streambuf* old = std::cerr.rdbuf(err.rdbuf());
    const int status = report_error(e);
    std::cerr.rdbuf(old);
    return {err.str(), status};
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
