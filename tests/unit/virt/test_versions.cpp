// versions: what `appshare --version` says about libvirt and libxml2 (no daemon).
#include "virt/versions.hpp"

#include <catch2/catch.hpp>

#include <regex>

using namespace appshare;

TEST_CASE("version numbers read as major.minor.release", "[virt][versions]")
{
    CHECK(libvirt_version_text(9000000) == "9.0.0");
    CHECK(libvirt_version_text(7002001) == "7.2.1");
    CHECK(std::regex_match(libxml2_runtime_version(), std::regex(R"(\d+\.\d+\.\d+)")));
}

TEST_CASE("the versions report answers without a daemon, within its deadline", "[virt][versions]")
{
    VersionQuery q;
    q.uri = "qemu+unix:///system?socket=/nonexistent/appshare-test.sock";
    const auto start = std::chrono::steady_clock::now();
    const auto text = versions_report(q);
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(10));
    INFO(text);
    CHECK_THAT(text, Catch::StartsWith("appshare ") && Catch::Contains("libvirt library ") &&
                         Catch::Contains("daemon: not reachable") && Catch::Contains("QEMU") &&
                         Catch::Contains("libxml2 "));
}
