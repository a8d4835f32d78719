#include "base/time_format.hpp"

#include <array>
#include <cstdio>
#include <ctime>

namespace appshare {

std::string utc_timestamp_now()
{
    const std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    std::array<char, 32> buf{};
    const auto n = std::strftime(buf.data(), buf.size(), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return std::string(buf.data(), n);
}

std::string format_seconds(std::chrono::milliseconds d, int decimals)
{
    std::array<char, 48> buf{};
    std::snprintf(buf.data(), buf.size(), "%.*f s", decimals, static_cast<double>(d.count()) / 1000.0);
    return buf.data();
}

}  // namespace appshare
