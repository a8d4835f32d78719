#include "store/usage_records.hpp"

#include "support/shared_storage.hpp"
#include "support/test_support.hpp"

#include <catch2/catch.hpp>

#include <filesystem>

using namespace appshare;
namespace fs = std::filesystem;
using std::chrono::seconds;

TEST_CASE("usage records say which host and domain use which base", "[usage_records]")
{
    test::TempDir dir;
    const std::string a(64, 'a');
    const std::string b(64, 'b');
    const auto rec = [](const std::string& sha, const std::string& host, const std::string& dom) {
        return test::usage_record(host, dom, sha);
    };

    SECTION("write, list, remove") {
        test::write_record(dir.path(), rec(a, "h2", "web1"));
        test::write_record(dir.path(), rec(a, "h1", "web2"));
        auto db = rec(b, "h1", "db");
        db.state = "stopped";
        db.boot_sha256 = std::vector<std::string>{std::string(64, 'c'), std::string(64, 'd')};
        db.uuid = "0b6f5cbb-7d0b-4c3e-9b35-6a0f1f2d3e4a";
        test::write_record(dir.path(), db);
        auto all = list_usage_records(dir.path());
        REQUIRE(all.size() == 3);
        CHECK(all[0].host == "h1");
        CHECK(all[0].domain == "web2");
        CHECK(all[0].state == "running");
        CHECK(all[0].machine_id == "fedcba9876543210fedcba9876543210");
        CHECK(all[2].base_sha256 == b);
        CHECK(all[2].state == "stopped");
        REQUIRE(all[2].boot_sha256);
        CHECK(*all[2].boot_sha256 == *db.boot_sha256);
        CHECK(all[2].uuid == db.uuid);
        CHECK(all[0].uuid.empty());
        CHECK(list_usage_records(dir.path(), a).size() == 2);

        // Rewriting the same (base, host, domain) replaces it.
        auto again = rec(a, "h1", "web2");
        again.mode = "independent";
        test::write_record(dir.path(), again);
        auto only_a = list_usage_records(dir.path(), a);
        REQUIRE(only_a.size() == 2);
        CHECK(only_a[0].mode == "independent");

        REQUIRE(remove_usage_record(dir.path(), a, "h1", "web2"));
        CHECK(list_usage_records(dir.path(), a).size() == 1);
        CHECK(remove_usage_record(dir.path(), a, "h1", "web2"));  // already gone: fine
    }
    SECTION("names that are not plain are refused, and nothing is written") {
        for (const auto& [host, dom] : std::vector<std::pair<std::string, std::string>>{
                 {"../h", "web1"}, {"h1", "../../x y"}, {"h\x1b[2J", "web1"}, {"h1", "a@b"}, {"", "web1"}}) {
            INFO(host << " / " << dom);
            auto w = write_usage_record(dir.path(), rec(a, host, dom));
            REQUIRE_FALSE(w);
            CHECK(w.error().code == ErrorCode::UnsafePath);
        }
        CHECK_FALSE(fs::exists(dir / "usage" / a));
        CHECK_FALSE(write_usage_record(dir.path(), rec("nothex", "h", "d")));
        CHECK_FALSE(write_usage_record(dir.path(), rec(std::string(64, 'A'), "h", "d")));
    }
    SECTION("a record of an older appshare: running, boot files not known") {
        fs::create_directories(dir / "usage" / a);
        test::write_file(dir / "usage" / a / "h1@web1.json",
                         R"({"host": "h1", "domain": "web1", "base": ")" + a +
                             R"(", "mode": "shared", "path": "/s/x", "since": "2026-01-01T00:00:00Z"})");
        auto all = list_usage_records(dir.path());
        REQUIRE(all.size() == 1);
        CHECK(all[0].state == "running");
        CHECK_FALSE(all[0].boot_sha256.has_value());
    }
    SECTION("bad files are skipped and named: link, FIFO, huge, garbage, control characters, lies") {
        test::write_record(dir.path(), rec(a, "h1", "web1"));
        const auto base_dir = dir / "usage" / a;
        const auto good = base_dir / "h1@web1.json";
        const std::string evil_host = "h\x1b[31m";
        const auto planted = test::plant_bad_files(
            base_dir, good, evil_host + "@web2.json",
            R"({"host": "h\u001b[31m", "domain": "web2", "base": ")" + a +
                R"(", "mode": "shared", "path": "/s/x", "since": "2026-01-01T00:00:00Z"})");
        // Valid JSON that lies: another base, a name that is not its file's, a bad state.
        const auto lie = [&](const std::string& file, const std::string& host, const std::string& base, const std::string& state) {
            test::write_file(base_dir / file, R"({"host": ")" + host + R"(", "domain": "web3", "base": ")" + base +
                                                  R"(", "mode": "shared", "path": "/s/x", "since": "2026-01-01T00:00:00Z", "state": ")" +
                                                  state + R"("})");
        };
        lie("h2@web3.json", "h2", b, "running");
        lie("h3@web3.json", "h9", a, "running");
        lie("h4@web3.json", "h4", a, "paused");
        // A path with a control character (found by fuzz_shared_records): list --all-hosts shows it.
        test::write_file(base_dir / "h5@web3.json", R"({"host": "h5", "domain": "web3", "base": ")" + a +
                                                        R"(", "mode": "shared", "path": "/s/\u001b[2Jx", "since": "2026-01-01T00:00:00Z"})");
        // A directory of another base that is a link: not followed.
        fs::create_directory_symlink(base_dir, dir / "usage" / b);

        const auto scan = scan_usage_records(dir.path());
        REQUIRE(scan.records.size() == 1);
        CHECK(scan.records[0].host == "h1");
        CHECK(scan.dir.skipped.size() == planted.size() + 5);
        std::string all;
        for (const auto& s : scan.dir.skipped) all += s + "\n";
        INFO(all);
        CHECK(all.find('\x1b') == std::string::npos);  // never printed raw
        CHECK_THAT(all, Catch::Contains("link.json: is a symbolic link") && Catch::Contains("fifo.json: is not a regular file") &&
                            Catch::Contains("huge.json: is larger than") && Catch::Contains("garbage.json: is not a JSON object") &&
                            Catch::Contains("h\\x1b[31m@web2.json: its host or domain is not a plain name") &&
                            Catch::Contains("names another base") && Catch::Contains("does not match") &&
                            Catch::Contains("neither running nor stopped"));
        CHECK(scan.dir.complete);
    }
    SECTION("temporary files of writers are collected, not read") {
        test::write_record(dir.path(), rec(a, "h1", "web1"));
        test::write_file(dir / "usage" / a / ".h1@web2.json.part-h1-123-0", "{");
        const auto scan = scan_usage_records(dir.path());
        CHECK(scan.records.size() == 1);
        REQUIRE(scan.dir.temporary.size() == 1);
        CHECK(scan.dir.skipped.empty());
    }
}

// Issue 10: another host (or a tenant of the export) replaces the usage folder, or a base's
// folder in it, by a link: the root-run hook must not create, write or delete files behind it.
TEST_CASE("usage records are never written or removed through a link", "[usage_records][untrusted]")
{
    test::TempDir dir;
    const std::string a(64, 'a');
    const auto shared = dir / "shared";
    const auto outside = dir / "outside";
    fs::create_directories(outside);
    fs::create_directories(shared);
    const auto record = test::usage_record("h1", "web1", a);

    SECTION("usage/ is a link") {
        fs::create_directory_symlink(outside, shared / "usage");
    }
    SECTION("usage/<sha> is a link") {
        fs::create_directories(shared / "usage");
        fs::create_directory_symlink(outside, shared / "usage" / a);
        test::write_file(outside / "h1@web1.json", "a file of someone else's");
        CHECK_FALSE(remove_usage_record(shared, a, "h1", "web1"));
        CHECK(fs::exists(outside / "h1@web1.json"));
        fs::remove(outside / "h1@web1.json");
        const auto scan = scan_usage_records(shared);
        CHECK(scan.records.empty());
        CHECK_FALSE(scan.dir.skipped.empty());
    }
    SECTION("shared_root itself is a link") {
        fs::remove(shared);
        fs::create_directory_symlink(outside, shared);
    }
    auto w = write_usage_record(shared, record);
    REQUIRE_FALSE(w);
    CHECK(w.error().code == ErrorCode::UnsafePath);
    CHECK_THAT(w.error().message, Catch::Contains("symbolic link"));
    CHECK(fs::is_empty(outside));
}
