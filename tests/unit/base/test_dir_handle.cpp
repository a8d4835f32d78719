#include "base/dir_handle.hpp"

#include "support/test_support.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

using namespace appshare;
namespace fs = std::filesystem;

// The attacks of issue 10 at the level of the one mechanism: a writer of the storage puts a
// link, a FIFO or a device where appshare expects its own folders and files.
TEST_CASE("DirHandle never follows a link at any component", "[dir_handle]")
{
    test::TempDir dir;
    const auto outside = dir / "outside";
    fs::create_directories(outside);
    fs::create_directories(dir / "root" / "real");

    SECTION("a link in the middle of the path is refused, and nothing is made behind it") {
        fs::create_directory_symlink(outside, dir / "root" / "usage");
        auto h = DirHandle::open(dir / "root" / "usage" / "abc", DirHandle::Create::Yes);
        REQUIRE_FALSE(h);
        CHECK(h.error().code == ErrorCode::UnsafePath);
        CHECK_THAT(h.error().message, Catch::Contains("symbolic link"));
        CHECK(fs::is_empty(outside));
    }
    SECTION("the root itself replaced by a link is refused") {
        fs::create_directory_symlink(outside, dir / "linked-root");
        auto h = DirHandle::open(dir / "linked-root");
        REQUIRE_FALSE(h);
        CHECK(h.error().code == ErrorCode::UnsafePath);
    }
    SECTION("missing folders are made one by one with the mode asked for") {
        auto h = DirHandle::open(dir / "root" / "a" / "b", DirHandle::Create::Yes, 0700);
        REQUIRE(h);
        CHECK(h->path() == dir / "root" / "a" / "b");
        struct stat st {};
        REQUIRE(::stat((dir / "root" / "a").c_str(), &st) == 0);
        CHECK((st.st_mode & 07777) == 0700);
    }
    SECTION("a file where a folder should be is refused") {
        test::write_file(dir / "root" / "file", "x");
        auto h = DirHandle::open(dir / "root" / "file" / "sub", DirHandle::Create::Yes);
        REQUIRE_FALSE(h);
        CHECK(h.error().code == ErrorCode::UnsafePath);
    }
    SECTION("a link as the last name is refused by open_file, stat shows the link itself") {
        auto h = DirHandle::open(dir / "root" / "real");
        REQUIRE(h);
        fs::create_symlink("/etc/passwd", dir / "root" / "real" / "record");
        auto f = h->open_file("record", O_RDONLY);
        REQUIRE_FALSE(f);
        CHECK(f.error().code == ErrorCode::UnsafePath);
        auto st = h->stat("record");
        REQUIRE(st);
        REQUIRE(*st);
        CHECK(S_ISLNK((*st)->st_mode));
    }
    SECTION("names must be single components") {
        auto h = DirHandle::open(dir / "root");
        REQUIRE(h);
        CHECK_FALSE(h->open_file("../outside", O_RDONLY, FileType::Any));
        CHECK_FALSE(h->open_file("real/x", O_RDONLY, FileType::Any));
        CHECK_FALSE(h->sub(".."));
        CHECK_FALSE(h->remove(".."));
    }
}

TEST_CASE("DirHandle opens a FIFO or a device without blocking and refuses it", "[dir_handle]")
{
    test::TempDir dir;
    auto h = DirHandle::open(dir.path());
    REQUIRE(h);
    REQUIRE(::mkfifo((dir / "fifo").c_str(), 0600) == 0);
    REQUIRE(::mknod((dir / "zero").c_str(), S_IFCHR | 0600, makedev(1, 5)) == 0);  // like /dev/zero

    const auto started = std::chrono::steady_clock::now();
    auto fifo = h->open_file("fifo", O_RDONLY);
    auto device = h->open_file("zero", O_RDONLY);
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(5));
    REQUIRE_FALSE(fifo);
    CHECK(fifo.error().code == ErrorCode::UnsafePath);
    CHECK_THAT(fifo.error().message, Catch::Contains("not a regular file"));
    REQUIRE_FALSE(device);
    CHECK(device.error().code == ErrorCode::UnsafePath);
}

TEST_CASE("DirHandle works inside the folder it opened", "[dir_handle]")
{
    test::TempDir dir;
    auto h = DirHandle::open(dir / "store", DirHandle::Create::Yes);
    REQUIRE(h);
    auto f = h->open_file("a", O_RDWR | O_CREAT | O_EXCL, FileType::Regular, nullptr, 0600);
    REQUIRE(f);
    CHECK(h->link("a", "b"));
    auto again = h->link("a", "b");
    REQUIRE_FALSE(again);
    CHECK(again.error().code == ErrorCode::AlreadyExists);
    CHECK(h->rename("b", "c"));
    auto names = h->names();
    REQUIRE(names);
    std::sort(names->begin(), names->end());
    CHECK(*names == std::vector<std::string>{"a", "c"});
    CHECK(h->remove("c"));
    CHECK(h->remove("c"));  // missing is fine
    CHECK(h->sync());

    // The folder renamed away and a link put in its place: the handle still works in the folder
    // it opened, never in the link's target.
    const auto outside = dir / "outside";
    fs::create_directories(outside);
    fs::rename(dir / "store", dir / "moved");
    fs::create_directory_symlink(outside, dir / "store");
    REQUIRE(h->open_file("new", O_RDWR | O_CREAT | O_EXCL, FileType::Regular, nullptr, 0600));
    CHECK(fs::exists(dir / "moved" / "new"));
    CHECK(fs::is_empty(outside));
}

TEST_CASE("path helpers refuse links and treat missing as missing", "[dir_handle]")
{
    test::TempDir dir;
    fs::create_directories(dir / "outside");
    test::write_file(dir / "outside" / "victim", "keep me");
    fs::create_directory_symlink(dir / "outside", dir / "usage");

    auto removed = remove_no_links(dir / "usage" / "victim");
    REQUIRE_FALSE(removed);
    CHECK(removed.error().code == ErrorCode::UnsafePath);
    CHECK(fs::exists(dir / "outside" / "victim"));

    CHECK_FALSE(stat_no_links(dir / "usage" / "victim"));
    auto missing = stat_no_links(dir / "nothing" / "here");
    REQUIRE(missing);
    CHECK_FALSE(*missing);
    auto listed = list_no_links(dir / "nothing");
    REQUIRE(listed);
    CHECK_FALSE(*listed);
    CHECK_FALSE(list_no_links(dir / "usage"));
}

TEST_CASE("DirHandle::remove_tree removes links inside, never what they point at", "[dir_handle]")
{
    test::TempDir dir;
    fs::create_directories(dir / "root" / "ctx" / "sub");
    fs::create_directories(dir / "outside");
    test::write_file(dir / "outside" / "victim", "keep me");
    test::write_file(dir / "root" / "ctx" / "overlay.qcow2", "x");
    test::write_file(dir / "root" / "ctx" / "sub" / "f", "y");
    fs::create_directory_symlink(dir / "outside", dir / "root" / "ctx" / "link-to-dir");
    fs::create_symlink(dir / "outside" / "victim", dir / "root" / "ctx" / "link-to-file");
    auto root = DirHandle::open(dir / "root");
    REQUIRE(root);
    REQUIRE(root->remove_tree("ctx"));
    CHECK_FALSE(fs::exists(fs::symlink_status(dir / "root" / "ctx")));
    CHECK(test::read_file(dir / "outside" / "victim") == "keep me");
    CHECK(root->remove_tree("ctx"));  // missing is fine

    fs::create_directory_symlink(dir / "outside", dir / "root" / "ctx");
    CHECK_FALSE(root->remove_tree("ctx"));
    CHECK(fs::exists(dir / "outside" / "victim"));
}
