#include "base/password_hash.hpp"

#include <catch2/catch.hpp>

#include <set>

using namespace appshare;

TEST_CASE("generated passwords are random letters and digits, hashed with SHA-512 crypt", "[password_hash]")
{
    std::set<std::string> seen;
    for (int i = 0; i < 20; ++i) {
        const auto pw = generate_password();
        CHECK(pw.size() == 20);
        for (char c : pw) CHECK(std::isalnum(static_cast<unsigned char>(c)));
        seen.insert(pw);
    }
    CHECK(seen.size() == 20);

    const auto pw = generate_password();
    auto h1 = sha512_crypt(pw);
    auto h2 = sha512_crypt(pw);
    REQUIRE(h1);
    REQUIRE(h2);
    CHECK(h1->rfind("$6$", 0) == 0);
    CHECK(h1->find(pw) == std::string::npos);
    CHECK(*h1 != *h2);  // a fresh salt each time
    CHECK(crypt_matches(pw, *h1));
    CHECK(crypt_matches(pw, *h2));
    CHECK_FALSE(crypt_matches(pw + "x", *h1));
}
