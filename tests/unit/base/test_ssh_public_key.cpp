#include "base/ssh_public_key.hpp"

#include "support/result_checks.hpp"
#include "support/test_support.hpp"

#include <catch2/catch.hpp>

using namespace appshare;
using namespace appshare::test;

namespace {

// A real key pair made by ssh-keygen (independent of the parser under test).
std::string make_public_key(const TempDir& dir, const std::string& type, const std::string& comment)
{
    const auto key = dir / ("k-" + type);
    run_ok({"ssh-keygen", "-q", "-t", type, "-N", "", "-C", comment, "-f", key.string()});
    return read_file(key.string() + ".pub");
}

}  // namespace

TEST_CASE("parse_ssh_public_keys reads what ssh-keygen writes", "[ssh_public_key]")
{
    TempDir dir;
    SECTION("ed25519, rsa and ecdsa keys, comments and blank lines")
    {
        const std::string text = "# my keys\n\n" + make_public_key(dir, "ed25519", "alice@host") +
                                 make_public_key(dir, "rsa", "bob key with spaces") + make_public_key(dir, "ecdsa", "");
        auto keys = parse_ssh_public_keys(text, "--ssh-key k");
        REQUIRE(keys);
        REQUIRE(keys->size() == 3);
        CHECK((*keys)[0].type == "ssh-ed25519");
        CHECK((*keys)[0].comment == "alice@host");
        CHECK((*keys)[1].type == "ssh-rsa");
        CHECK((*keys)[1].comment == "bob key with spaces");
        CHECK((*keys)[2].type == "ecdsa-sha2-nistp256");
        CHECK((*keys)[0].line() + "\n" == read_file(dir / "k-ed25519.pub"));
    }
    SECTION("the fingerprint is ssh-keygen's SHA256 one, as hex pairs")
    {
        const auto text = make_public_key(dir, "ed25519", "c");
        auto keys = parse_ssh_public_keys(text, "k");
        REQUIRE(keys);
        // ssh-keygen -l -E sha256 prints base64; the hex of the same digest, via openssl.
        const auto hex = run_ok({"sh", "-c", "cut -d' ' -f2 \"$1\" | base64 -d | sha256sum | cut -c1-64", "sh",
                                 (dir / "k-ed25519.pub").string()});
        std::string pairs;
        for (std::size_t i = 0; i < 64; i += 2) pairs += (i ? ":" : "") + hex.substr(i, 2);
        CHECK(ssh_key_sha256_hex_fingerprint((*keys)[0]) == pairs);
    }
}

TEST_CASE("parse_ssh_public_keys refuses what is not a public key", "[ssh_public_key]")
{
    TempDir dir;
    const auto good = make_public_key(dir, "ed25519", "c");
    const auto type_end = good.find(' ');
    const std::string blob = good.substr(type_end + 1, good.find(' ', type_end + 1) - type_end - 1);
    SECTION("a private key")
    {
        require_refused(parse_ssh_public_keys(read_file(dir / "k-ed25519"), "--ssh-key id"), ErrorCode::Usage,
                        {"--ssh-key id", "private key"});
    }
    SECTION("empty, garbage, unknown type, bad base64, type not matching the blob")
    {
        require_refused(parse_ssh_public_keys("", "f"), ErrorCode::Usage, {"f", "no public key"});
        require_refused(parse_ssh_public_keys("\n# only a comment\n", "f"), ErrorCode::Usage, {"no public key"});
        require_refused(parse_ssh_public_keys("hello world\n", "f"), ErrorCode::Usage, {"f line 1", "public key type"});
        require_refused(parse_ssh_public_keys("ssh-ed25519\n", "f"), ErrorCode::Usage, {"line 1"});
        require_refused(parse_ssh_public_keys("ssh-ed25519 !!!notbase64 c\n", "f"), ErrorCode::Usage, {"base64"});
        require_refused(parse_ssh_public_keys("ssh-rsa " + blob + " c\n", "f"), ErrorCode::Usage, {"not a ssh-rsa key"});
        require_refused(parse_ssh_public_keys("ssh-ed25519 " + blob + " c\x01\n", "f"), ErrorCode::Usage,
                        {"printable"});
    }
    SECTION("more than 100 keys")
    {
        std::string many;
        for (int i = 0; i < 101; ++i) many += good;
        require_refused(parse_ssh_public_keys(many, "f"), ErrorCode::Usage, {"more than 100"});
    }
}
