// Timestamps as appshare writes them in records: UTC, ISO 8601, second precision.
#pragma once

#include <string>

namespace appshare {

// Now, as "2026-11-25T10:00:00Z".
[[nodiscard]] std::string utc_timestamp_now();

}  // namespace appshare
