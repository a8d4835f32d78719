#include "base/time_format.hpp"

#include <array>
#include <cstdio>
#include <ctime>

namespace appshare {

std::string utc_timestamp(std::chrono::system_clock::time_point t)
{
    const std::time_t secs = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    std::array<char, 32> buf{};
    const auto n = std::strftime(buf.data(), buf.size(), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return std::string(buf.data(), n);
}

std::string utc_timestamp_now() { return utc_timestamp(std::chrono::system_clock::now()); }

std::optional<std::chrono::system_clock::time_point> parse_utc_timestamp(std::string_view text)
{
    // YYYY-MM-DDTHH:MM:SSZ, digits where digits belong and nothing else.
    constexpr std::string_view shape = "0000-00-00T00:00:00Z";
    if (text.size() != shape.size()) return std::nullopt;
    for (std::size_t i = 0; i < shape.size(); ++i) {
        const bool digit = text[i] >= '0' && text[i] <= '9';
        if (shape[i] == '0' ? !digit : text[i] != shape[i]) return std::nullopt;
    }
    const auto num = [&](std::size_t pos, std::size_t len) {
        int v = 0;
        for (std::size_t i = pos; i < pos + len; ++i) v = v * 10 + (text[i] - '0');
        return v;
    };
    std::tm tm{};
    tm.tm_year = num(0, 4) - 1900;
    tm.tm_mon = num(5, 2) - 1;
    tm.tm_mday = num(8, 2);
    tm.tm_hour = num(11, 2);
    tm.tm_min = num(14, 2);
    tm.tm_sec = num(17, 2);
    const std::tm given = tm;
    const std::time_t t = timegm(&tm);
    // timegm normalises out-of-range fields (month 13, 31 February): such a date is not real.
    if (t == static_cast<std::time_t>(-1) || tm.tm_year != given.tm_year || tm.tm_mon != given.tm_mon ||
        tm.tm_mday != given.tm_mday || tm.tm_hour != given.tm_hour || tm.tm_min != given.tm_min ||
        tm.tm_sec != given.tm_sec) {
        return std::nullopt;
    }
    // The clock counts in 64-bit nanoseconds (about 1677 to 2262): a time outside would wrap.
    using std::chrono::duration_cast;
    using std::chrono::seconds;
    constexpr auto max_seconds = duration_cast<seconds>(std::chrono::system_clock::duration::max()).count();
    constexpr auto min_seconds = duration_cast<seconds>(std::chrono::system_clock::duration::min()).count();
    if (t >= max_seconds || t <= min_seconds) return std::nullopt;
    return std::chrono::system_clock::from_time_t(t);
}

std::string format_age(std::chrono::seconds age)
{
    const long long s = age.count() < 0 ? 0 : age.count();
    if (s < 120) return std::to_string(s) + " s";
    if (s < 2 * 3600) return std::to_string(s / 60) + " min";
    if (s < 2 * 86400) return std::to_string(s / 3600) + " h";
    return std::to_string(s / 86400) + " days";
}

std::string format_seconds(std::chrono::milliseconds d, int decimals)
{
    std::array<char, 48> buf{};
    std::snprintf(buf.data(), buf.size(), "%.*f s", decimals, static_cast<double>(d.count()) / 1000.0);
    return buf.data();
}

}  // namespace appshare
