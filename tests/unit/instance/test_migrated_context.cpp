// A context moved aside at a migration away: one rename, never a deletion, and only its own
// domain's copy is ever found or discarded.
#include "instance/migrated_context.hpp"

#include "support/test_support.hpp"

#include <catch2/catch.hpp>

#include <filesystem>

using namespace appshare;
namespace fs = std::filesystem;

namespace {
const std::string kUuid = "0b6f5cbb-7d0b-4c3e-9b35-6a0f1f2d3e4a";
const std::string kOtherUuid = "11111111-2222-3333-4444-555555555555";
}  // namespace

TEST_CASE("a context moved aside keeps everything, says where it went, and is found by its name", "[migrated_context]")
{
    test::TempDir dir;
    const auto root = dir / "contexts";
    const auto layout = context_layout(root, "web1");
    fs::create_directories(layout.dir);
    test::write_file(layout.overlay, "guest writes");

    auto kept = move_context_aside(root, layout, "web1", kUuid, "host-b");
    REQUIRE(kept);
    CHECK(kept->dir == root / (".migrated.web1." + kUuid));
    CHECK_FALSE(fs::exists(layout.dir));
    CHECK(test::read_file(kept->dir / "disk.qcow2") == "guest writes");

    fs::create_directories(root / "web2");                  // a live context
    fs::create_directories(root / ".migrated.web1.not-a-uuid");  // not one of ours
    auto all = list_migrated_contexts(root);
    REQUIRE(all);
    REQUIRE(all->size() == 1);
    CHECK(all->at(0).name == "web1");
    CHECK(all->at(0).uuid == kUuid);
    CHECK(all->at(0).to_host == "host-b");

    SECTION("a start without an overlay is refused; with one (a new install, or put back) it goes on") {
        auto refused = refuse_start_if_migrated(root, layout, "web1");
        REQUIRE_FALSE(refused);
        CHECK(refused.error().code == ErrorCode::NotFound);
        CHECK(refuse_start_if_migrated(root, context_layout(root, "web2"), "web2"));
        fs::create_directories(layout.dir);
        test::write_file(layout.overlay, "new install");
        CHECK(refuse_start_if_migrated(root, layout, "web1"));
    }
    SECTION("a second move of the same domain refuses and leaves the context where it is") {
        fs::create_directories(layout.dir);
        test::write_file(layout.overlay, "newer writes");
        auto again = move_context_aside(root, layout, "web1", kUuid, "host-c");
        REQUIRE_FALSE(again);
        CHECK(again.error().code == ErrorCode::AlreadyExists);
        CHECK(test::read_file(layout.overlay) == "newer writes");
        CHECK_FALSE(fs::exists(layout.dir / "migrated-to"));
        CHECK(test::read_file(kept->dir / "migrated-to") == "host-b\n");
    }
    SECTION("only the same domain's copy is discarded") {
        auto other = discard_migrated_context(root, "web1", kOtherUuid);
        REQUIRE(other);
        CHECK_FALSE(*other);
        CHECK(fs::exists(kept->dir));
        auto same = discard_migrated_context(root, "web1", kUuid);
        REQUIRE(same);
        CHECK(*same);
        CHECK_FALSE(fs::exists(kept->dir));
    }
}
