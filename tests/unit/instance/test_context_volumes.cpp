// context_volumes: the links the contexts' storage pool lists, kept in step with the contexts.
#include "instance/context_volumes.hpp"

#include "support/test_support.hpp"

#include <catch2/catch.hpp>

#include <algorithm>

using namespace appshare;
using namespace appshare::test;
namespace fs = std::filesystem;

namespace {

void make_context(const fs::path& root, const std::string& name, bool overlay = true)
{
    fs::create_directories(root / name);
    if (overlay) write_file(root / name / "disk.qcow2", "overlay of " + name);
}

std::vector<std::string> sorted(std::vector<std::string> v)
{
    std::sort(v.begin(), v.end());
    return v;
}

}  // namespace

TEST_CASE("sync_context_volumes keeps one link per instance overlay", "[context_volumes]")
{
    TempDir dir;
    const fs::path root = dir / "contexts";
    make_context(root, "web1");
    make_context(root, "web2");
    make_context(root, "empty", false);         // no overlay (yet): no volume
    write_file(root / "stray-file", "x");       // not an instance folder
    fs::create_directory_symlink(root / "web1", root / "linked");  // a link is never an instance
    const fs::path volumes = context_volumes_dir(root);
    CHECK(volumes == root / ".volumes");

    auto first = sync_context_volumes(root);
    REQUIRE(first);
    CHECK(sorted(first->added) == std::vector<std::string>{"web1.qcow2", "web2.qcow2"});
    CHECK(first->removed.empty());
    CHECK(fs::read_symlink(volumes / "web1.qcow2") == fs::path("../web1/disk.qcow2"));
    CHECK(read_file(volumes / "web2.qcow2") == "overlay of web2");  // the link reaches the overlay
    CHECK((fs::status(volumes).permissions() & fs::perms::all) == static_cast<fs::perms>(0711));

    SECTION("a second sync changes nothing")
    {
        auto again = sync_context_volumes(root);
        REQUIRE(again);
        CHECK(again->added.empty());
        CHECK(again->removed.empty());
    }
    SECTION("a context removed loses its link; one made gets its link; a wrong link is put right")
    {
        fs::remove_all(root / "web2");
        make_context(root, "web3");
        fs::remove(volumes / "web1.qcow2");
        fs::create_symlink("/etc/passwd", volumes / "web1.qcow2");
        write_file(volumes / "notes.txt", "the user's");  // not appshare's: left alone
        auto next = sync_context_volumes(root);
        REQUIRE(next);
        CHECK(sorted(next->added) == std::vector<std::string>{"web1.qcow2", "web3.qcow2"});
        CHECK(sorted(next->removed) == std::vector<std::string>{"web1.qcow2", "web2.qcow2"});
        CHECK_FALSE(fs::exists(fs::symlink_status(volumes / "web2.qcow2")));
        CHECK(fs::read_symlink(volumes / "web1.qcow2") == fs::path("../web1/disk.qcow2"));
        CHECK(fs::exists(volumes / "notes.txt"));
    }
    SECTION("a context root that is a link is refused")
    {
        fs::create_directory_symlink(root, dir / "via-link");
        CHECK_FALSE(sync_context_volumes(dir / "via-link"));
    }
}
