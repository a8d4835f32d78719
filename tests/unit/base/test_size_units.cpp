#include "base/size_units.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <string>

using namespace appshare;

namespace {
constexpr std::uint64_t KiB = 1024;
constexpr std::uint64_t MiB = KiB * 1024;
constexpr std::uint64_t GiB = MiB * 1024;
constexpr std::uint64_t TiB = GiB * 1024;
}  // namespace

TEST_CASE("unit_multiplier knows libvirt's unit names", "[size_units]")
{
    SECTION("binary units") {
        CHECK(unit_multiplier("B") == 1U);
        CHECK(unit_multiplier("bytes") == 1U);
        CHECK(unit_multiplier("K") == KiB);
        CHECK(unit_multiplier("k") == KiB);
        CHECK(unit_multiplier("KiB") == KiB);
        CHECK(unit_multiplier("M") == MiB);
        CHECK(unit_multiplier("MiB") == MiB);
        CHECK(unit_multiplier("G") == GiB);
        CHECK(unit_multiplier("GiB") == GiB);
        CHECK(unit_multiplier("T") == TiB);
        CHECK(unit_multiplier("TiB") == TiB);
    }
    SECTION("decimal units") {
        CHECK(unit_multiplier("KB") == 1000U);
        CHECK(unit_multiplier("MB") == 1000U * 1000U);
        CHECK(unit_multiplier("GB") == 1000U * 1000U * 1000U);
        CHECK(unit_multiplier("TB") == std::uint64_t{1000} * 1000U * 1000U * 1000U);
    }
    SECTION("unknown units") {
        CHECK_FALSE(unit_multiplier(""));
        CHECK_FALSE(unit_multiplier("XiB"));
        CHECK_FALSE(unit_multiplier("gib"));
        CHECK_FALSE(unit_multiplier("PiB"));
    }
}

TEST_CASE("parse_decimal accepts digits only and never wraps", "[size_units]")
{
    SECTION("plain and surrounded by whitespace") {
        CHECK(*parse_decimal("0", "t", "f") == 0U);
        CHECK(*parse_decimal(" \n 42\t", "t", "f") == 42U);
        CHECK(*parse_decimal("18446744073709551615", "t", "f") == std::numeric_limits<std::uint64_t>::max());
    }
    SECTION("one past UINT64_MAX overflows") {
        auto r = parse_decimal("18446744073709551616", "origin.xml", "memory");
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::BadManifest);
        CHECK_THAT(r.error().message, Catch::Contains("origin.xml") && Catch::Contains("memory") &&
                                          Catch::Contains("overflows"));
    }
    SECTION("not digits") {
        for (const char* bad : {"", "   ", "-1", "+1", "0x10", "1 2", "1,000", "1.5", "12a", "１"}) {
            INFO(bad);
            auto r = parse_decimal(bad, "origin.xml", "vcpus");
            REQUIRE_FALSE(r);
            CHECK(r.error().code == ErrorCode::BadManifest);
            CHECK_THAT(r.error().message, Catch::Contains("vcpus"));
        }
    }
    SECTION("the error code can be chosen") {
        auto r = parse_decimal("x", "--size", "size", ErrorCode::Usage);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::Usage);
    }
}

TEST_CASE("parse_size scales by unit with overflow checks", "[size_units]")
{
    SECTION("units and defaults") {
        CHECK(*parse_size("256", "MiB", "B", "t", "f") == 256 * MiB);
        CHECK(*parse_size("256", "", "MiB", "t", "f") == 256 * MiB);
        CHECK(*parse_size("4", "G", "B", "t", "f") == 4 * GiB);
        CHECK(*parse_size("3", "GB", "B", "t", "f") == 3000000000U);
        CHECK(*parse_size("5", " KiB ", "B", "t", "f") == 5 * KiB);
        CHECK(*parse_size("16777215", "TiB", "B", "t", "f") == 16777215 * TiB);
    }
    SECTION("largest value that fits, and one more") {
        CHECK(*parse_size("16777215", "T", "B", "t", "f") == 16777215 * TiB);
        auto r = parse_size("16777216", "TiB", "B", "t.xml", "memory");
        REQUIRE_FALSE(r);
        CHECK_THAT(r.error().message, Catch::Contains("overflows"));
    }
    SECTION("huge number times unit is an error, not a wrap") {
        auto r = parse_size("99999999999999999999", "GiB", "B", "t.xml", "memory");
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::BadManifest);
        CHECK_THAT(r.error().message, Catch::Contains("memory") && Catch::Contains("overflows"));
        auto r2 = parse_size("17179869184", "GiB", "B", "t.xml", "memory");  // 2^34 GiB = 2^64 B
        REQUIRE_FALSE(r2);
        CHECK_THAT(r2.error().message, Catch::Contains("overflows"));
    }
    SECTION("unknown unit lists the known ones") {
        auto r = parse_size("1", "XiB", "B", "t.xml", "memory");
        REQUIRE_FALSE(r);
        CHECK_THAT(r.error().message, Catch::Contains("\"XiB\"") && Catch::Contains("GiB") &&
                                          Catch::Contains("memory"));
    }
}

TEST_CASE("parse_size_text reads number and unit from one string", "[size_units]")
{
    CHECK(*parse_size_text("8G", "B", "t", "f") == 8 * GiB);
    CHECK(*parse_size_text(" 8 GiB ", "B", "t", "f") == 8 * GiB);
    CHECK(*parse_size_text("512", "MiB", "t", "f") == 512 * MiB);
    CHECK_FALSE(parse_size_text("G8", "B", "t", "f"));
    CHECK_FALSE(parse_size_text("8 Gigs", "B", "t", "f"));
    CHECK_FALSE(parse_size_text("", "B", "t", "f"));
    CHECK_FALSE(parse_size_text("-8G", "B", "t", "f"));
}

TEST_CASE("format_size prints a human size", "[size_units]")
{
    CHECK(format_size(0) == "0 B");
    CHECK(format_size(1023) == "1023 B");
    CHECK(format_size(KiB) == "1.0 KiB");
    CHECK(format_size(1536) == "1.5 KiB");
    CHECK(format_size(256 * MiB) == "256.0 MiB");
    CHECK(format_size(GiB) == "1.0 GiB");
    CHECK(format_size(GiB - 1) == "1.0 GiB");
    CHECK(format_size(21233664) == "20.2 MiB");
    CHECK(format_size(std::numeric_limits<std::uint64_t>::max()) == "16.0 EiB");
}
