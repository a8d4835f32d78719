// Times as appshare writes them: timestamps in records (UTC, ISO 8601, second precision) and
// durations in messages.
#pragma once

#include <chrono>
#include <string>

namespace appshare {

// Now, as "2026-11-25T10:00:00Z".
[[nodiscard]] std::string utc_timestamp_now();

// A duration in seconds with `decimals` digits after the point: "1.5 s", "0.25 s".
[[nodiscard]] std::string format_seconds(std::chrono::milliseconds d, int decimals = 1);

}  // namespace appshare
