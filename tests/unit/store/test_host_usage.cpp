#include "store/host_usage.hpp"

#include "support/shared_storage.hpp"
#include "support/test_support.hpp"

#include <catch2/catch.hpp>

using namespace appshare;
using std::chrono::hours;

TEST_CASE("hosts are judged live or gone from the registry", "[host_usage]")
{
    test::TempDir dir;
    const std::string sha(64, 'a');
    test::register_host(dir.path(), "fresh", hours(2));
    test::register_host(dir.path(), "old", hours(24 * 10));
    test::register_host(dir.path(), "idle", hours(24 * 10));  // gone, but has no records
    test::write_record(dir.path(), test::usage_record("fresh", "web1", sha));
    test::write_record(dir.path(), test::usage_record("old", "web2", sha));
    test::write_record(dir.path(), test::usage_record("legacy", "web3", sha));
    test::write_record(dir.path(), test::usage_record(this_host_name(), "web4", sha));

    HostJudgement judge;
    judge.gone_after = hours(72);
    const auto usage = read_host_usage(dir.path(), judge);
    REQUIRE(usage.records.size() == 4);
    CHECK(usage.hosts.at("fresh").status == HostStatus::Live);
    CHECK(usage.hosts.at("old").status == HostStatus::Gone);
    CHECK(usage.hosts.at("old").unseen >= hours(24 * 10));
    CHECK(usage.hosts.at("idle").status == HostStatus::Gone);
    CHECK(usage.hosts.at("idle").records == 0);
    CHECK(usage.hosts.at("legacy").status == HostStatus::Unregistered);
    CHECK(usage.hosts.at(this_host_name()).status == HostStatus::ThisHost);
    for (const auto& r : usage.records) {
        INFO(r.host);
        CHECK(usage.host_of(r).keeps_bases() == (r.host != "old"));
    }
    // A longer time before a host counts as gone: the old host is live again.
    judge.gone_after = hours(24 * 30);
    CHECK(read_host_usage(dir.path(), judge).hosts.at("old").status == HostStatus::Live);
}
