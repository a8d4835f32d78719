#include "store/write_back.hpp"

#include "base/unique_handle.hpp"
#include "support/test_support.hpp"

#include <catch2/catch.hpp>

#include <cerrno>

#include <fcntl.h>

using namespace appshare;

TEST_CASE("writes in pieces arrive whole, with write-back started as they go", "[write_back]")
{
    test::TempDir dir;
    SECTION("a buffer spanning several pieces and write-back windows is written whole, in order") {
        const auto path = dir / "out";
        UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
        REQUIRE(fd.valid());
        std::string expected;
        WriteBack write_back(fd.get());
        for (int i = 0; i < 5; ++i) {
            // 3 MiB + an odd tail: pieces of 256 KiB and a short one, windows of 8 MiB crossed.
            std::string chunk((3U << 20) + 4097U * static_cast<unsigned>(i), static_cast<char>('a' + i));
            for (std::size_t k = 0; k < chunk.size(); k += 4096) chunk[k] = static_cast<char>(k / 4096);
            REQUIRE(write_in_pieces(fd.get(), std::as_bytes(std::span(chunk.data(), chunk.size()))) == 0);
            expected += chunk;
            write_back.wrote(expected.size());
        }
        CHECK(test::read_file(path) == expected);
    }
    SECTION("a full disk is the errno of the write that failed") {
        UniqueFd fd(::open("/dev/full", O_WRONLY | O_CLOEXEC));
        REQUIRE(fd.valid());
        const std::string chunk(1 << 20, 'x');
        CHECK(write_in_pieces(fd.get(), std::as_bytes(std::span(chunk.data(), chunk.size()))) == ENOSPC);
    }
}
