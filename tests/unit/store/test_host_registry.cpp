#include "store/host_registry.hpp"

#include "base/host_identity.hpp"
#include "base/installed_files.hpp"
#include "support/shared_storage.hpp"
#include "support/test_support.hpp"

#include <catch2/catch.hpp>

#include <filesystem>

using namespace appshare;
namespace fs = std::filesystem;
using std::chrono::hours;
using std::chrono::seconds;

TEST_CASE("the hosts registry records each host on the shared storage", "[host_registry]")
{
    test::TempDir dir;

    SECTION("write and read back") {
        test::register_host(dir.path(), "h2", hours(1));
        REQUIRE(write_host_record(dir.path(), this_host_record()));
        const auto scan = scan_host_records(dir.path());
        REQUIRE(scan.hosts.size() == 2);
        const auto& me = scan.hosts[scan.hosts[0].name == "h2" ? 1 : 0];
        CHECK(me.name == this_host_name());
        CHECK(me.machine_id == this_machine_id());
        CHECK(me.appshare_version == appshare_version());
        CHECK(parse_utc_timestamp(me.last_seen).has_value());
        CHECK(scan.dir.skipped.empty());
    }
    SECTION("the hook's refresh writes at most once per interval: one stat when fresh") {
        auto first = refresh_host_record(dir.path());
        REQUIRE(first);
        CHECK(*first);
        const auto file = host_record_path(dir.path(), this_host_name());
        REQUIRE(fs::exists(file));
        auto again = refresh_host_record(dir.path());
        REQUIRE(again);
        CHECK_FALSE(*again);
        test::make_old(file, kHostRefreshInterval + seconds(5));
        auto stale = refresh_host_record(dir.path());
        REQUIRE(stale);
        CHECK(*stale);
        auto forced = refresh_host_record(dir.path(), seconds(0));
        REQUIRE(forced);
        CHECK(*forced);
    }
    SECTION("names that are not plain are refused") {
        auto w = write_host_record(dir.path(), HostRecord{"../etc", "", utc_timestamp_now(), "1"});
        REQUIRE_FALSE(w);
        CHECK(w.error().code == ErrorCode::UnsafePath);
        CHECK_FALSE(fs::exists(dir / "etc.json"));
    }
    SECTION("bad entries are skipped and named, never printed raw") {
        test::register_host(dir.path(), "h2", hours(1));
        const auto hosts = dir / "hosts";
        const auto planted = test::plant_bad_files(hosts, hosts / "h2.json", "h\x07.json",
                                                   R"({"name": "h\u0007", "last_seen": "2026-01-01T00:00:00Z"})");
        test::write_file(hosts / "h3.json", R"({"name": "h3", "last_seen": "yesterday"})");
        test::write_file(hosts / "h4.json", R"({"name": "h4", "machine_id": "xyz", "last_seen": "2026-01-01T00:00:00Z"})");
        test::write_file(hosts / "h5.json", R"({"name": "h5", "last_seen": "2026-01-01T00:00:00Z", "appshare_version": "1\u001b[2J"})");
        test::write_file(hosts / "h6.json", R"({"name": "h7", "last_seen": "2026-01-01T00:00:00Z"})");
        const auto scan = scan_host_records(dir.path());
        REQUIRE(scan.hosts.size() == 1);
        CHECK(scan.hosts[0].name == "h2");
        CHECK(scan.dir.skipped.size() == planted.size() + 4);
        for (const auto& s : scan.dir.skipped) {
            INFO(s);
            CHECK(s.find('\x07') == std::string::npos);
            CHECK(s.find('\x1b') == std::string::npos);
        }
    }
}
