#include "instance/all_hosts_list.hpp"

#include "support/shared_storage.hpp"
#include "support/test_support.hpp"

#include <catch2/catch.hpp>

#include <algorithm>

using namespace appshare;
using std::chrono::hours;

TEST_CASE("list --all-hosts shows every host's instances from the shared storage alone", "[all_hosts]")
{
    test::TempDir dir;
    Config config;
    config.shared_root = dir / "shared";
    const std::string a(64, 'a');
    const std::string b(64, 'b');
    const auto me = this_host_name();
    REQUIRE(write_host_record(config.shared_root, this_host_record()));
    test::register_host(config.shared_root, "h2", hours(1));
    test::register_host(config.shared_root, "h3", hours(24 * 10));
    test::write_record(config.shared_root, test::usage_record(me, "web1", a));
    test::write_record(config.shared_root, test::usage_record("h2", "web2", a, hours(0), "stopped"));
    auto independent = test::usage_record("h3", "web3", b);
    independent.mode = "independent";
    test::write_record(config.shared_root, independent);
    test::write_record(config.shared_root, test::usage_record("h4", "web4", b));

    const auto listing = list_all_hosts(config);
    REQUIRE(listing.instances.size() == 4);
    CHECK(listing.instances[0].host == "h2");  // ordered by host

    const auto text = all_hosts_text(listing);
    INFO(text);
    const auto line_of = [&](const std::string& domain) {
        const auto pos = text.find(" " + domain + " ");
        REQUIRE(pos != std::string::npos);
        const auto start = text.rfind('\n', pos) + 1;
        return text.substr(start, text.find('\n', pos) - start);
    };
    CHECK_THAT(line_of("web1"), Catch::StartsWith(me) && Catch::Contains("running") && Catch::Contains(a.substr(0, 12)) &&
                                    Catch::EndsWith("this host"));
    CHECK_THAT(line_of("web2"), Catch::StartsWith("h2") && Catch::Contains("stopped") && Catch::EndsWith("live"));
    CHECK_THAT(line_of("web3"), Catch::Contains("independent") && Catch::EndsWith("gone"));
    CHECK_THAT(line_of("web4"), Catch::EndsWith("unregistered"));
    CHECK_THAT(text, Catch::Contains("host h3: gone, last seen") && Catch::Contains("(taken as gone: they keep no base)") &&
                         Catch::Contains("host h4: unregistered, not in the hosts registry") &&
                         Catch::Contains("appshare 0.9-test"));

    const auto j = all_hosts_json(listing);
    REQUIRE(j["instances"].size() == 4);
    const auto inst = [&](const std::string& domain) {
        for (const auto& i : j["instances"]) {
            if (i["domain"] == domain) return i;
        }
        FAIL("no instance " << domain);
        return nlohmann::json();
    };
    CHECK(inst("web2")["host_live"] == true);
    CHECK(inst("web2")["state"] == "stopped");
    CHECK(inst("web2")["base_sha256"] == a);
    CHECK(inst("web3")["host_live"] == false);
    CHECK(inst("web3")["mode"] == "independent");
    CHECK(inst("web4")["host_live"].is_null());
    CHECK(inst("web1")["host_status"] == "this host");
    REQUIRE(j["hosts"].size() == 4);
    CHECK(j["hosts"][0].contains("machine_id"));
    CHECK(std::any_of(j["hosts"].begin(), j["hosts"].end(),
                      [](const nlohmann::json& h) { return h["name"] == "h3" && h["unseen_seconds"] >= 10 * 86400; }));
}

TEST_CASE("list --all-hosts skips bad files and prints nothing raw", "[all_hosts]")
{
    test::TempDir dir;
    Config config;
    config.shared_root = dir / "shared";
    const std::string a(64, 'a');
    test::register_host(config.shared_root, "h2", hours(1));
    test::write_record(config.shared_root, test::usage_record("h2", "web2", a));
    const auto usage_dir = config.shared_root / "usage" / a;
    test::plant_bad_files(usage_dir, usage_dir / "h2@web2.json", "h\x1b]0;pwned\x07@web9.json",
                          R"({"host": "h\u001b]0;pwned\u0007", "domain": "web9", "base": ")" + a +
                              R"(", "mode": "shared", "path": "/x", "since": "2026-01-01T00:00:00Z"})");

    const auto listing = list_all_hosts(config);
    REQUIRE(listing.instances.size() == 1);
    CHECK(listing.warnings.size() == 5);
    const auto text = all_hosts_text(listing);
    CHECK(text.find('\x1b') == std::string::npos);
    CHECK(text.find('\x07') == std::string::npos);
    CHECK_THAT(text, Catch::Contains("warning: skipped") && Catch::Contains("h\\x1b]0;pwned\\x07@web9.json"));
    CHECK_NOTHROW(all_hosts_json(listing).dump());
    // An empty storage says so.
    config.shared_root = dir / "empty";
    CHECK_THAT(all_hosts_text(list_all_hosts(config)), Catch::StartsWith("No instances are recorded"));
}
