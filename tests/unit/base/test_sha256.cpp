#include "base/progress.hpp"
#include "base/sha256.hpp"
#include "base/size_units.hpp"

#include "support/test_support.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <string>

#include <sys/stat.h>

using namespace appshare;
using appshare::test::TempDir;

namespace {

// The first field of `sha256sum FILE`.
std::string first_word(const std::string& out) { return out.substr(0, out.find_first_of(" \t\n")); }

}  // namespace

TEST_CASE("Sha256 matches the standard test vectors", "[sha256]")
{
    SECTION("empty input") {
        Sha256 h;
        CHECK(h.hex_digest() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }
    SECTION("abc") {
        Sha256 h;
        h.update(std::string_view("abc"));
        CHECK(h.hex_digest() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
    SECTION("two-block message, fed in pieces") {
        Sha256 h;
        const std::string msg = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
        for (std::size_t i = 0; i < msg.size(); i += 5) h.update(std::string_view(msg).substr(i, 5));
        CHECK(h.hex_digest() == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    }
    SECTION("hex_digest resets the hasher") {
        Sha256 h;
        h.update(std::string_view("garbage"));
        (void)h.hex_digest();
        h.update(std::string_view("abc"));
        CHECK(h.hex_digest() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
    SECTION("a moved-to hasher keeps the state") {
        Sha256 a;
        a.update(std::string_view("ab"));
        Sha256 b = std::move(a);
        b.update(std::string_view("c"));
        CHECK(b.hex_digest() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}

TEST_CASE("sha256_file agrees with openssl and sha256sum", "[sha256]")
{
    TempDir dir;
    SECTION("a file larger than one read chunk, with a ragged end") {
        const auto file = dir / "data.bin";
        const std::string content = test::pseudo_random((std::size_t{3} << 20) + 12345, 7);
        test::write_file(file, content);
        std::uint64_t reported = 0;
        int calls = 0;
        const ProgressFn progress = [&](std::uint64_t n) {
            reported += n;
            ++calls;
        };
        auto digest = sha256_file(file, &progress);
        REQUIRE(digest);
        CHECK(*digest == test::openssl_sha256(file));
        CHECK(*digest == first_word(test::run_ok({"sha256sum", file.string()})));
        CHECK(reported == content.size());
        CHECK(calls == 4);

        Sha256 h;
        h.update(std::string_view(content));
        CHECK(h.hex_digest() == *digest);
    }
    SECTION("an empty file") {
        const auto file = dir / "empty";
        test::write_file(file, "");
        auto digest = sha256_file(file);
        REQUIRE(digest);
        CHECK(*digest == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }
    SECTION("a missing file is an Io error naming the path") {
        auto digest = sha256_file(dir / "nope.qcow2");
        REQUIRE_FALSE(digest);
        CHECK(digest.error().code == ErrorCode::Io);
        CHECK_THAT(digest.error().message, Catch::Contains((dir / "nope.qcow2").string()));
    }
    SECTION("a directory is an Io error") {
        auto digest = sha256_file(dir.path());
        REQUIRE_FALSE(digest);
        CHECK(digest.error().code == ErrorCode::Io);
    }
    SECTION("a FIFO is refused, not waited on") {
        const auto fifo = dir / "fifo";
        REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
        auto digest = sha256_file(fifo);
        REQUIRE_FALSE(digest);
        CHECK(digest.error().code == ErrorCode::Io);
        CHECK_THAT(digest.error().message, Catch::Contains("not a regular file"));
    }
}

TEST_CASE("Digest strings are checked and lowercased", "[sha256]")
{
    const std::string lower = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    const std::string upper = "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD";
    CHECK(normalize_sha256(lower) == lower);
    CHECK(normalize_sha256(upper) == lower);
    CHECK_FALSE(normalize_sha256(lower.substr(1)));
    CHECK_FALSE(normalize_sha256(lower.substr(1) + "g"));
    CHECK_FALSE(normalize_sha256(lower + "0"));
    CHECK_FALSE(normalize_sha256(""));
    // As appshare writes them (names on shared storage): lowercase only.
    CHECK(is_sha256_digest(lower));
    CHECK_FALSE(is_sha256_digest(upper));
    CHECK_FALSE(is_sha256_digest(lower.substr(1) + "g"));
    CHECK_FALSE(is_sha256_digest(""));
}
