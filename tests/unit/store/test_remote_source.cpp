#include "store/remote_source.hpp"

#include "support/test_support.hpp"

#include <catch2/catch.hpp>

#include <filesystem>

using namespace appshare;
namespace fs = std::filesystem;

namespace {

Result<std::string> drain(const BlobSource& s)
{
    std::string out;
    auto r = s.stream([&](std::span<const std::byte> b) -> Result<void> {
        out.append(reinterpret_cast<const char*>(b.data()), b.size());
        return ok();
    });
    if (!r) return std::move(r).error();
    return out;
}

}  // namespace

TEST_CASE("file sources stream regular files only, allowed ones only", "[remote_source]")
{
    test::TempDir dir;
    fs::create_directories(dir / "allowed");
    const std::string content(3 << 20, 'q');
    test::write_file(dir / "allowed" / "base", content);
    test::write_file(dir / "outside", "secret");

    SECTION("store files") {
        auto s = drain(store_file_source(dir / "allowed" / "base"));
        REQUIRE(s);
        CHECK(*s == content);
        fs::create_symlink(dir / "outside", dir / "link");
        CHECK_FALSE(drain(store_file_source(dir / "link")));
    }
    SECTION("metadata files are checked when streamed") {
        CHECK(*drain(allowed_file_source(dir / "allowed" / "base", {dir / "allowed"})) == content);
        auto r = drain(allowed_file_source(dir / "outside", {dir / "allowed"}));
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::UnsafePath);
    }
}

TEST_CASE("http sources refuse URLs outside the allowed prefixes before connecting", "[remote_source]")
{
    auto r = drain(http_source("http://127.0.0.1:1/other/x", {"http://127.0.0.1:1/img/"}));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ErrorCode::UnsafePath);
    auto unreachable = drain(http_source("http://127.0.0.1:1/img/x", {"http://127.0.0.1:1/img/"}));
    REQUIRE_FALSE(unreachable);
    CHECK(unreachable.error().code == ErrorCode::Io);
    CHECK_THAT(unreachable.error().message, Catch::Contains("127.0.0.1:1/img/x"));
}
