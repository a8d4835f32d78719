#include "base/sync_batch.hpp"

#include "base/atomic_file.hpp"
#include "base/dir_handle.hpp"

#include "support/test_support.hpp"

#include <catch2/catch.hpp>

#include <filesystem>

#include <fcntl.h>
#include <unistd.h>

using namespace appshare;
namespace fs = std::filesystem;

TEST_CASE("SyncBatch flushes each file and folder once, together", "[sync_batch]")
{
    test::TempDir dir;
    SyncBatch batch;

    SECTION("files written atomically into a batch are in place at once and flushed with their folder") {
        REQUIRE(write_file_atomic(dir / "instance.json", "{}", 0600, &batch));
        REQUIRE(write_file_atomic(dir / "other.json", "[]", 0600, &batch));
        CHECK(test::read_file(dir / "instance.json") == "{}");
        CHECK(test::read_file(dir / "other.json") == "[]");
        CHECK(batch.size() == 3);  // the two files and their one folder
        REQUIRE(batch.flush());
        CHECK(batch.size() == 0);
    }
    SECTION("the same file or folder added twice, through other descriptors, is kept once") {
        auto a = DirHandle::open(dir.path());
        auto b = DirHandle::open(dir.path());
        REQUIRE(a);
        REQUIRE(b);
        REQUIRE(batch.add(a->fd(), dir.path()));
        REQUIRE(batch.add(b->fd(), dir.path()));
        CHECK(batch.size() == 1);
        // The batch holds its own descriptor: the caller's may be closed before the flush.
        a = DirHandle::open(dir.path());
        REQUIRE(batch.flush());
    }
    SECTION("a descriptor that is not open is refused, naming the file") {
        auto r = batch.add(-1, dir / "gone");
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::Io);
        CHECK(r.error().message.find((dir / "gone").string()) != std::string::npos);
        CHECK(batch.size() == 0);
    }
    SECTION("an empty batch flushes") {
        REQUIRE(batch.flush());
    }
}
