#include "base/host_identity.hpp"

#include "support/test_support.hpp"

#include <catch2/catch.hpp>

using namespace appshare;

TEST_CASE("this machine's id comes from machine-id(5), checked", "[host_identity]")
{
    test::TempDir dir;
    const auto file = dir / "machine-id";
    test::write_file(file, "0123456789abcdef0123456789abcdef\n");
    CHECK(this_machine_id(file) == "0123456789abcdef0123456789abcdef");
    test::write_file(file, "not an id\n");
    CHECK(this_machine_id(file).empty());
    CHECK(this_machine_id(dir / "missing").empty());
}

TEST_CASE("machine ids have one form", "[host_identity]")
{
    CHECK(is_machine_id("0123456789abcdef0123456789abcdef"));
    CHECK_FALSE(is_machine_id("0123456789ABCDEF0123456789abcdef"));
    CHECK_FALSE(is_machine_id("0123456789abcdef0123456789abcde"));
    CHECK_FALSE(is_machine_id("0123456789abcdef0123456789abcdeg"));
    CHECK_FALSE(is_machine_id(""));
}
