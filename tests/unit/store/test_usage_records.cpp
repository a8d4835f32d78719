#include "store/usage_records.hpp"

#include "support/test_support.hpp"

#include <catch2/catch.hpp>

#include <filesystem>

using namespace appshare;
namespace fs = std::filesystem;

TEST_CASE("usage records say which host and domain use which base", "[usage_records]")
{
    test::TempDir dir;
    const std::string a(64, 'a');
    const std::string b(64, 'b');
    const auto rec = [](std::string sha, std::string host, std::string dom) {
        return UsageRecord{std::move(host), std::move(dom), std::move(sha), "shared", "/s/x.qcow2", "t"};
    };

    SECTION("write, list, remove") {
        REQUIRE(write_usage_record(dir.path(), rec(a, "h2", "web1")));
        REQUIRE(write_usage_record(dir.path(), rec(a, "h1", "web2")));
        REQUIRE(write_usage_record(dir.path(), rec(b, "h1", "db")));
        auto all = list_usage_records(dir.path());
        REQUIRE(all.size() == 3);
        CHECK(all[0].host == "h1");
        CHECK(all[0].domain == "web2");
        CHECK(all[2].base_sha256 == b);
        CHECK(list_usage_records(dir.path(), a).size() == 2);

        // Rewriting the same (base, host, domain) replaces it.
        auto again = rec(a, "h1", "web2");
        again.mode = "independent";
        REQUIRE(write_usage_record(dir.path(), again));
        auto only_a = list_usage_records(dir.path(), a);
        REQUIRE(only_a.size() == 2);
        CHECK(only_a[0].mode == "independent");

        REQUIRE(remove_usage_record(dir.path(), a, "h1", "web2"));
        CHECK(list_usage_records(dir.path(), a).size() == 1);
        CHECK(remove_usage_record(dir.path(), a, "h1", "web2"));  // already gone: fine
    }
    SECTION("names that are not plain stay inside the base's directory") {
        REQUIRE(write_usage_record(dir.path(), rec(a, "../h", "../../x y")));
        const auto p = usage_record_path(dir.path(), rec(a, "../h", "../../x y"));
        CHECK(p.parent_path() == dir / "usage" / a);
        auto all = list_usage_records(dir.path());
        REQUIRE(all.size() == 1);
        CHECK(all[0].domain == "../../x y");
    }
    SECTION("invalid digests and malformed files") {
        CHECK_FALSE(write_usage_record(dir.path(), rec("nothex", "h", "d")));
        fs::create_directories(dir / "usage" / a);
        test::write_file(dir / "usage" / a / "junk.json", "{not json");
        CHECK(list_usage_records(dir.path()).empty());
    }
}
