#include "store/write_behind.hpp"

#include "base/unique_handle.hpp"
#include "support/test_support.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>

using namespace appshare;

TEST_CASE("write-behind writes every chunk in order and reports write errors", "[write_behind]")
{
    test::TempDir dir;
    SECTION("content arrives complete and in order") {
        const auto path = dir / "out";
        UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
        REQUIRE(fd.valid());
        std::string expected;
        {
            WriteBehind w(fd.get(), path.string(), 2);
            for (int i = 0; i < 200; ++i) {
                std::string chunk(1000 + static_cast<std::size_t>(i) * 37, static_cast<char>('a' + i % 26));
                expected += chunk;
                REQUIRE(w.push(std::as_bytes(std::span(chunk.data(), chunk.size()))));
            }
            REQUIRE(w.finish());
        }
        CHECK(test::read_file(path) == expected);
    }
    SECTION("a full disk is reported by push or finish, naming the file") {
        UniqueFd fd(::open("/dev/full", O_WRONLY | O_CLOEXEC));
        REQUIRE(fd.valid());
        WriteBehind w(fd.get(), "/dev/full");
        const std::string chunk(65536, 'x');
        bool failed = false;
        for (int i = 0; i < 50 && !failed; ++i) failed = !w.push(std::as_bytes(std::span(chunk.data(), chunk.size())));
        auto done = w.finish();
        REQUIRE_FALSE(done);
        CHECK(done.error().code == ErrorCode::Io);
        CHECK_THAT(done.error().message, Catch::Contains("/dev/full") && Catch::Contains("free space"));
    }
    SECTION("destroyed without finish: stops without hanging") {
        UniqueFd fd(::open("/dev/null", O_WRONLY | O_CLOEXEC));
        WriteBehind w(fd.get(), "/dev/null", 1);
        const std::string chunk(1 << 20, 'y');
        for (int i = 0; i < 8; ++i) REQUIRE(w.push(std::as_bytes(std::span(chunk.data(), chunk.size()))));
    }
}
