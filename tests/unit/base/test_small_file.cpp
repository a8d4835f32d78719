#include "base/small_file.hpp"

#include "support/test_support.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace appshare;
using namespace appshare::test;

TEST_CASE("read_small_file reads regular files up to a cap and nothing else", "[small_file]")
{
    TempDir tmp;
    const auto file = tmp.path() / "note";
    write_file(file, "hello\n");

    SECTION("a regular file") {
        const auto r = read_small_file(file, 64);
        REQUIRE(r);
        CHECK(r.text == "hello\n");
        CHECK(r.file_size == 6);
    }
    SECTION("exactly at the cap, and one byte over") {
        CHECK(read_small_file(file, 6));
        const auto r = read_small_file(file, 5);
        CHECK(r.problem == FileProblem::TooLarge);
        CHECK(r.text.size() == 6);  // never more than cap + 1 bytes read
    }
    SECTION("a missing file") {
        const auto r = read_small_file(tmp.path() / "none", 64);
        CHECK(r.problem == FileProblem::Missing);
        CHECK(r.why() == "does not exist");
    }
    SECTION("a symbolic link is refused unless links are trusted") {
        std::filesystem::create_symlink(file, tmp.path() / "link");
        CHECK(read_small_file(tmp.path() / "link", 64).problem == FileProblem::Link);
        CHECK(read_small_file(tmp.path() / "link", 64, FollowLinks::Yes).text == "hello\n");
    }
    SECTION("a FIFO is refused without blocking") {
        REQUIRE(::mkfifo((tmp.path() / "fifo").c_str(), 0600) == 0);
        CHECK(read_small_file(tmp.path() / "fifo", 64).problem == FileProblem::NotRegular);
    }
    SECTION("a directory and a device are refused") {
        CHECK(read_small_file(tmp.path(), 64, FollowLinks::Yes).problem == FileProblem::NotRegular);
        CHECK(read_small_file("/dev/zero", 64, FollowLinks::Yes).problem == FileProblem::NotRegular);
    }
    SECTION("files whose size the kernel does not report (/proc) are read to their end") {
        const auto r = read_small_file("/proc/self/stat", 4096, FollowLinks::Yes);
        REQUIRE(r);
        CHECK(r.file_size == 0);
        CHECK_FALSE(r.text.empty());
    }
}

TEST_CASE("read_file_head reads a prefix of any length of file", "[small_file]")
{
    TempDir tmp;
    const auto file = tmp.path() / "image";
    write_file(file, std::string(1000, 'a'));
    const auto r = read_file_head(file, 10);
    REQUIRE(r);
    CHECK(r.text == std::string(10, 'a'));
    CHECK(r.file_size == 1000);
    const auto whole = read_file_head(file, 4096);
    REQUIRE(whole);
    CHECK(whole.text.size() == 1000);
    CHECK(read_file_head(tmp.path(), 10, FollowLinks::Yes).problem == FileProblem::NotRegular);
}
