#include "store/blob_gc.hpp"

#include "support/test_support.hpp"

#include <catch2/catch.hpp>

#include <algorithm>

using namespace appshare;
namespace fs = std::filesystem;

TEST_CASE("gc sees only the store's own names, grouped by file", "[blob_gc]")
{
    test::TempDir dir;
    const BlobStore store(dir / "store");
    fs::create_directories(store.dir());
    const std::string a(64, 'a');
    const std::string b(64, 'b');
    for (const std::string& name : std::vector<std::string>{a + ".qcow2", a + ".qcow2.verified", a + ".qcow2.lock", "." + a + ".qcow2.part-h-1-0",
                             "." + a + ".qcow2.verified.part-h-1-1", b + ".kernel.lock",
                             // not the store's: left alone
                             a + ".qcow2.bak", a + ".qcow2x", a + ".iso", std::string(64, 'A') + ".qcow2", a.substr(1) + ".raw",
                             "." + a + ".qcow2", "." + a + ".qcow2.tmp", "README", "usage"}) {
        test::write_file(store.dir() / name, "x");
    }
    auto blobs = list_stored_blobs(store);
    REQUIRE(blobs);
    REQUIRE(blobs->size() == 2);
    const auto& first = (*blobs)[0];
    CHECK(first.spec.sha256 == a);
    CHECK(first.spec.kind == "qcow2");
    CHECK(first.published);
    CHECK(first.has_record);
    CHECK(first.has_lock);
    CHECK(first.temporary.size() == 2);
    const auto& second = (*blobs)[1];
    CHECK(second.spec.kind == "kernel");
    CHECK_FALSE(second.published);
    CHECK(second.has_lock);

    // A missing store holds nothing.
    auto none = list_stored_blobs(BlobStore(dir / "missing"));
    REQUIRE(none);
    CHECK(none->empty());
}
