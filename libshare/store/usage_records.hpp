// Which hosts and domains use which shared base, recorded on the shared storage itself so that
// every host sharing it sees them (read back with list_usage_records, for the clean-up of unused
// bases and a view of every host's instances). One small file per (base, host, domain), written
// atomically by the hook at `started` / `reconnect` and removed at `release`; no lock is needed
// because each file has a single writer (the host running that domain).
//
//   <shared_root>/usage/<sha256>/<host>@<domain>.json
//   {"host": "h1", "domain": "web1", "base": "<sha256>", "mode": "shared", "path": "/…", "since": "…"}
#pragma once

#include "base/result.hpp"

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace appshare {

struct UsageRecord {
    std::string host;
    std::string domain;
    std::string base_sha256;
    std::string mode;            // "shared" / "independent"
    std::filesystem::path path;  // the base file the domain runs on
    std::string since;           // UTC timestamp of the start (or reconnect)
};

// The file of a record: names are kept to [A-Za-z0-9._-], anything else percent-encoded.
[[nodiscard]] std::filesystem::path usage_record_path(const std::filesystem::path& shared_root,
                                                      const UsageRecord& record);

// Writes (or replaces) the record. Errors: Io.
[[nodiscard]] Result<void> write_usage_record(const std::filesystem::path& shared_root, const UsageRecord& record);

// Removes the record of (base, host, domain); succeeds when there is none.
[[nodiscard]] Result<void> remove_usage_record(const std::filesystem::path& shared_root, std::string_view base_sha256,
                                               std::string_view host, std::string_view domain);

// Every readable record, for all bases (or only `base_sha256` when not empty), sorted by base,
// host, domain. Unreadable or malformed files are skipped.
[[nodiscard]] std::vector<UsageRecord> list_usage_records(const std::filesystem::path& shared_root,
                                                          std::string_view base_sha256 = {});

}  // namespace appshare
