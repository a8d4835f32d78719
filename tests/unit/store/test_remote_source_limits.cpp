#include "store/remote_source_limits.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace appshare;

TEST_CASE("capped_sink passes up to max_bytes and refuses the byte after", "[remote_source_limits]")
{
    std::string got;
    const ByteSink sink = [&](std::span<const std::byte> b) -> Result<void> {
        got.append(reinterpret_cast<const char*>(b.data()), b.size());
        return ok();
    };
    const auto capped = capped_sink(sink, 10, "http://mirror/base");
    const std::string six = "abcdef";
    const auto bytes = std::as_bytes(std::span(six.data(), six.size()));
    REQUIRE(capped(bytes));
    auto r = capped(bytes);  // 12 > 10: nothing of it passes
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ErrorCode::LoadFailed);
    CHECK_THAT(r.error().message, Catch::Contains("http://mirror/base is larger than max_base_bytes"));
    CHECK(got == six);
    CHECK(capped(bytes.first(4)));  // exactly 10
    CHECK(got.size() == 10);
}
