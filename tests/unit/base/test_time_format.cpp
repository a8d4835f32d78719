#include "base/time_format.hpp"

#include <catch2/catch.hpp>

using namespace appshare;
using namespace std::chrono;

TEST_CASE("UTC timestamps are written and read back in one strict form", "[time_format]")
{
    const auto t = system_clock::from_time_t(1795000000);  // 2026-11-18T...
    const auto text = utc_timestamp(t);
    CHECK(text.size() == 20);
    const auto back = parse_utc_timestamp(text);
    REQUIRE(back);
    CHECK(*back == t);
    CHECK(parse_utc_timestamp("2026-11-25T10:00:00Z") == system_clock::from_time_t(1795600800));
    for (const char* bad : {"", "2026-11-25T10:00:00", "2026-11-25 10:00:00Z", "2026-13-01T00:00:00Z",
                            "2026-02-30T00:00:00Z", "2026-11-25T24:00:00Z", "2026-11-25T10:00:00Z ", "２026-11-25T10:00:00Z",
                            "+026-11-25T10:00:00Z", "yesterday"}) {
        INFO(bad);
        CHECK_FALSE(parse_utc_timestamp(bad));
    }
}

TEST_CASE("a timestamp the clock cannot hold is refused, not wrapped", "[time_format]")
{
    // system_clock counts nanoseconds in 64 bits: about 1677 to 2262. A record on the shared
    // storage saying year 7897 overflowed the conversion (found by fuzz_shared_records under UBSan).
    for (const char* far : {"7897-11-25T10:00:00Z", "9999-12-31T23:59:59Z", "2263-01-01T00:00:00Z", "1600-01-01T00:00:00Z"}) {
        INFO(far);
        CHECK_FALSE(parse_utc_timestamp(far));
    }
    const auto late = parse_utc_timestamp("2261-12-31T23:59:59Z");
    REQUIRE(late);
    CHECK(utc_timestamp(*late) == "2261-12-31T23:59:59Z");
    CHECK(parse_utc_timestamp("1970-01-01T00:00:00Z") == system_clock::from_time_t(0));
}

TEST_CASE("ages are said in whole units", "[time_format]")
{
    CHECK(format_age(seconds(-5)) == "0 s");
    CHECK(format_age(seconds(40)) == "40 s");
    CHECK(format_age(minutes(12)) == "12 min");
    CHECK(format_age(hours(5)) == "5 h");
    CHECK(format_age(hours(24 * 3 + 5)) == "3 days");
}
