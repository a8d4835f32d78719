// The mark of a context an incoming live migration made: settled from the usage records, a
// failed arrival moved aside (never deleted) with this host's record gone, an arrival that
// completed unmarked, and nothing touched when the records could not all be read.
#include "instance/arrival.hpp"

#include "base/host_identity.hpp"
#include "instance/migrated_context.hpp"
#include "support/test_support.hpp"

#include <catch2/catch.hpp>

#include <filesystem>

using namespace appshare;
namespace fs = std::filesystem;

namespace {
const std::string kUuid = "0b6f5cbb-7d0b-4c3e-9b35-6a0f1f2d3e4a";
const std::string kSha(64, 'a');

UsageRecord record(const std::string& host, const std::string& state, const std::string& uuid = kUuid)
{
    UsageRecord r;
    r.host = host;
    r.domain = "web1";
    r.base_sha256 = kSha;
    r.mode = "shared";
    r.path = "/shared/" + kSha + ".qcow2";
    r.since = "2026-12-01T10:00:00Z";
    r.state = state;
    r.uuid = uuid;
    return r;
}
}  // namespace

TEST_CASE("an arriving context is settled from the usage records", "[arrival]")
{
    test::TempDir dir;
    const auto shared = dir / "shared";
    const auto root = dir / "contexts";
    const auto layout = context_layout(root, "web1");
    fs::create_directories(layout.dir);
    fs::create_directories(shared);
    test::write_file(layout.overlay, "part of a mirror");
    REQUIRE(mark_arriving(layout, kUuid));
    auto marked = arriving_uuid(layout);
    REQUIRE(marked);
    CHECK(*marked == kUuid);

    const UsageRecord mine = record(this_host_name(), "running");
    REQUIRE(write_usage_record(shared, mine));

    SECTION("another host runs the same domain: the migration failed, the context goes aside, the record goes") {
        const std::vector<UsageRecord> records{record("source-host", "running"), mine};
        auto s = settle_arrival(shared, root, "web1", records, true);
        REQUIRE(s);
        CHECK(s->outcome == ArrivalOutcome::Failed);
        CHECK(s->runs_on == "source-host");
        CHECK_FALSE(fs::exists(layout.dir));
        CHECK(s->kept_at == root / migrated_context_name("web1", kUuid));
        CHECK(test::read_file(s->kept_at / "disk.qcow2") == "part of a mirror");
        CHECK_FALSE(fs::exists(usage_record_path(shared, mine)));
    }
    SECTION("nobody else runs it (stopped there, another domain's UUID): it arrived, the mark goes") {
        const std::vector<UsageRecord> records{record("source-host", "stopped"),
                                               record("other-host", "running", "11111111-2222-3333-4444-555555555555"), mine};
        auto s = settle_arrival(shared, root, "web1", records, true);
        REQUIRE(s);
        CHECK(s->outcome == ArrivalOutcome::Arrived);
        CHECK(fs::exists(layout.overlay));
        CHECK(fs::exists(usage_record_path(shared, mine)));
        auto again = arriving_uuid(layout);
        REQUIRE(again);
        CHECK_FALSE(*again);
    }
    SECTION("records that could not all be read decide nothing") {
        auto s = settle_arrival(shared, root, "web1", {mine}, false);
        REQUIRE(s);
        CHECK(s->outcome == ArrivalOutcome::Undecided);
        CHECK(fs::exists(layout.overlay));
        auto again = arriving_uuid(layout);
        REQUIRE(again);
        CHECK(*again == kUuid);
    }
    SECTION("a context without the mark is not an arrival, whatever the records say") {
        REQUIRE(clear_arriving(layout));
        REQUIRE(clear_arriving(layout));
        auto s = settle_arrival(shared, root, "web1", {record("source-host", "running")}, true);
        REQUIRE(s);
        CHECK(s->outcome == ArrivalOutcome::NotArriving);
        CHECK(fs::exists(layout.overlay));
    }
    SECTION("a mark that is a link is refused, never followed") {
        REQUIRE(clear_arriving(layout));
        fs::create_symlink(dir / "elsewhere", layout.dir / "arriving");
        CHECK_FALSE(arriving_uuid(layout));
    }
}
