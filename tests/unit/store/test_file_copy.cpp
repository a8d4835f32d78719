#include "store/file_copy.hpp"

#include "base/sha256.hpp"
#include "base/unique_handle.hpp"
#include "base/write_all.hpp"
#include "support/test_support.hpp"

#include <catch2/catch.hpp>

#include <thread>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace appshare;

namespace {

// Content that differs in every 4 KiB block, so a piece out of place would show.
std::string patterned(std::size_t size)
{
    std::string s(size, '\0');
    for (std::size_t i = 0; i < size; ++i) s[i] = static_cast<char>((i / 4096 * 31 + i) & 0xff);
    return s;
}

struct Copied {
    Result<void> result = ok();
    std::string fed;  // what `written` was given
};

Copied copy(int src, int dst, const std::string& dst_name, std::uint64_t limit = UINT64_MAX,
            std::size_t fail_after = SIZE_MAX)
{
    Copied c;
    c.result = copy_into_file(CopyEnds{src, dst, "the source", dst_name}, limit, [&](std::span<const std::byte> b) -> Result<void> {
        if (c.fed.size() >= fail_after) return make_error(ErrorCode::Interrupted, "stopped by the test");
        c.fed.append(reinterpret_cast<const char*>(b.data()), b.size());
        return ok();
    });
    return c;
}

UniqueFd open_new(const std::filesystem::path& p)
{
    return UniqueFd(::open(p.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
}

}  // namespace

TEST_CASE("copying a file into a file being loaded delivers exactly its bytes, written and fed", "[file_copy]")
{
    test::TempDir dir;
    // 8 MiB pieces, 1 MiB chunks: 19 MiB and an odd tail cross both.
    const std::string content = patterned((19U << 20) + 12345U);
    test::write_file(dir / "src", content);
    UniqueFd src(::open((dir / "src").c_str(), O_RDONLY | O_CLOEXEC));
    REQUIRE(src.valid());

    SECTION("on one file system (in the kernel): the file and what was fed are the source") {
        UniqueFd dst = open_new(dir / "dst");
        auto c = copy(src.get(), dst.get(), "dst");
        REQUIRE(c.result);
        CHECK(test::read_file(dir / "dst") == content);
        Sha256 fed;
        fed.update(c.fed);
        CHECK(fed.hex_digest() == test::openssl_sha256(dir / "src"));
    }
    SECTION("across file systems (here a pipe as the source): copied in user space, the same bytes") {
        int p[2];
        REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
        UniqueFd rd(p[0]);
        std::thread feeder([w = p[1], &content] {
            (void)write_all(w, content);
            ::close(w);
        });
        UniqueFd dst = open_new(dir / "dst");
        auto c = copy(rd.get(), dst.get(), "dst");
        feeder.join();
        REQUIRE(c.result);
        CHECK(c.fed == content);
        CHECK(test::read_file(dir / "dst") == content);
    }
    SECTION("never more than the limit") {
        UniqueFd dst = open_new(dir / "dst");
        auto c = copy(src.get(), dst.get(), "dst", 9U << 20);
        REQUIRE(c.result);
        CHECK(c.fed == content.substr(0, 9U << 20));
        CHECK(std::filesystem::file_size(dir / "dst") == 9U << 20);
    }
    SECTION("a caller that stops taking chunks stops the copy within one piece") {
        UniqueFd dst = open_new(dir / "dst");
        auto c = copy(src.get(), dst.get(), "dst", UINT64_MAX, 1U << 20);
        REQUIRE_FALSE(c.result);
        CHECK(c.result.error().code == ErrorCode::Interrupted);
        CHECK(std::filesystem::file_size(dir / "dst") <= 8U << 20);
    }
    SECTION("a write that fails is an Io error naming the file written") {
        UniqueFd full(::open("/dev/full", O_WRONLY | O_CLOEXEC));
        REQUIRE(full.valid());
        auto c = copy(src.get(), full.get(), "/dev/full");
        REQUIRE_FALSE(c.result);
        CHECK(c.result.error().code == ErrorCode::Io);
        CHECK_THAT(c.result.error().message, Catch::Contains("/dev/full") && Catch::Contains("free space"));
        CHECK(c.fed.empty());
    }
}
