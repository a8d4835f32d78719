// Checking appshare's Result<T> in tests.
#pragma once

#include "base/result.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

namespace appshare::test {

// Requires `r` to be a refusal with `code` whose message contains every one of `needles`;
// returns the message.
template <class T>
std::string require_refused(const Result<T>& r, ErrorCode code, const std::vector<std::string>& needles = {})
{
    REQUIRE_FALSE(r);
    const std::string& message = r.error().message;
    INFO(message);
    CHECK(r.error().code == code);
    for (const auto& needle : needles) CHECK_THAT(message, Catch::Contains(needle));
    return message;
}

}  // namespace appshare::test
