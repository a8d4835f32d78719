// Times as appshare writes them: timestamps in records (UTC, ISO 8601, second precision) and
// durations in messages.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace appshare {

// Now, as "2026-11-25T10:00:00Z".
[[nodiscard]] std::string utc_timestamp_now();

// `t` as "2026-11-25T10:00:00Z".
[[nodiscard]] std::string utc_timestamp(std::chrono::system_clock::time_point t);

// A timestamp written by utc_timestamp (read from records other hosts write: exactly that form,
// a real date and time the clock can hold, 1677 to 2262); nullopt for anything else.
[[nodiscard]] std::optional<std::chrono::system_clock::time_point> parse_utc_timestamp(std::string_view text);

// An age in whole units, for messages: "40 s", "12 min", "5 h", "3 days" (negative: "0 s").
[[nodiscard]] std::string format_age(std::chrono::seconds age);

// A duration in seconds with `decimals` digits after the point: "1.5 s", "0.25 s".
[[nodiscard]] std::string format_seconds(std::chrono::milliseconds d, int decimals = 1);

}  // namespace appshare
