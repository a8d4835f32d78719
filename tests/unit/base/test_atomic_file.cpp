#include "base/atomic_file.hpp"

#include "support/test_support.hpp"

#include <catch2/catch.hpp>

#include <filesystem>

#include <sys/stat.h>

using namespace appshare;
namespace fs = std::filesystem;

TEST_CASE("TempFile publishes the inode it wrote, not one renamed over it", "[atomic_file]")
{
    test::TempDir dir;
    auto tmp = TempFile::create_beside(dir / "base.qcow2", 0600);
    REQUIRE(tmp);
    REQUIRE(tmp->write("the content that was hashed"));

    SECTION("untouched: published with its mode, and its fstat given back") {
        struct stat published {};
        REQUIRE(tmp->commit(0444, &published));
        CHECK(test::read_file(dir / "base.qcow2") == "the content that was hashed");
        struct stat st {};
        REQUIRE(::stat((dir / "base.qcow2").c_str(), &st) == 0);
        CHECK(st.st_ino == published.st_ino);
        CHECK((st.st_mode & 07777) == 0444);
    }
    SECTION("another file renamed over the temporary name before the commit is refused and removed") {
        test::write_file(dir / "forged", "other content");
        fs::rename(dir / "forged", tmp->path());
        auto r = tmp->commit(0444);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::UnsafePath);
        CHECK_FALSE(fs::exists(dir / "base.qcow2"));
    }
}

TEST_CASE("make_dirs and write_file_atomic never follow a link", "[atomic_file]")
{
    test::TempDir dir;
    fs::create_directories(dir / "outside");
    fs::create_directories(dir / "shared");
    fs::create_directory_symlink(dir / "outside", dir / "shared" / "usage");

    auto d = make_dirs(dir / "shared" / "usage" / "abc");
    REQUIRE_FALSE(d);
    CHECK(d.error().code == ErrorCode::UnsafePath);
    auto w = write_file_atomic(dir / "shared" / "usage" / "record.json", "{}");
    REQUIRE_FALSE(w);
    CHECK(w.error().code == ErrorCode::UnsafePath);
    CHECK(fs::is_empty(dir / "outside"));
}
