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

TEST_CASE("domain UUIDs have the form libvirt writes", "[host_identity]")
{
    CHECK(is_domain_uuid("0b6f5cbb-7d0b-4c3e-9b35-6a0f1f2d3e4a"));
    for (const char* bad : {"", "0b6f5cbb7d0b4c3e9b356a0f1f2d3e4a", "0B6F5CBB-7D0B-4C3E-9B35-6A0F1F2D3E4A",
                            "0b6f5cbb-7d0b-4c3e-9b35-6a0f1f2d3e4", "0b6f5cbb-7d0b-4c3e-9b35_6a0f1f2d3e4a",
                            "../../../../../../../../etc/passwd000"}) {
        INFO(bad);
        CHECK_FALSE(is_domain_uuid(bad));
    }
}
