// The hosts registry on shared storage: every host that uses the shared storage records itself,
// so that every other host can tell a live host from one that is gone (a host not seen for
// `host_gone_seconds` is taken as gone: its usage records no longer keep a base, see
// store/host_usage.hpp).
//
//   <shared_root>/hosts/<host>.json
//   {"name": "h1", "machine_id": "<32 hex>", "last_seen": "2026-11-25T10:00:00Z", "appshare_version": "0.1.0"}
//
// Written atomically by its host: the hook refreshes it at `started`, `reconnect` and `release`
// (at most once per kHostRefreshInterval: one stat when it is fresh), install, uninstall and gc
// at every run. Read as untrusted (store/json_records.hpp): a plain name matching the file's
// name, a machine id of the right form (or none), a valid timestamp, a short printable version;
// anything else is skipped and named.
#pragma once

#include "base/result.hpp"
#include "store/json_records.hpp"

#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace appshare {

inline constexpr std::chrono::seconds kHostRefreshInterval{600};

struct HostRecord {
    std::string name;
    std::string machine_id;        // empty when the host has none
    std::string last_seen;         // UTC timestamp
    std::string appshare_version;
};

// <shared_root>/hosts/<name>.json
[[nodiscard]] std::filesystem::path host_record_path(const std::filesystem::path& shared_root, std::string_view name);

// Writes (or replaces) the record. Errors: UnsafePath for a name that is not plain, Io.
[[nodiscard]] Result<void> write_host_record(const std::filesystem::path& shared_root, const HostRecord& record);

// This host, seen now: this_host_name(), this_machine_id(), this appshare's version.
[[nodiscard]] HostRecord this_host_record();

// Records this host as seen now, unless its record was written less than `min_interval` ago
// (judged by the file's modification time: one stat). Returns whether it wrote. Errors: those
// of write_host_record.
[[nodiscard]] Result<bool> refresh_host_record(const std::filesystem::path& shared_root,
                                               std::chrono::seconds min_interval = kHostRefreshInterval);

struct HostScan {
    std::vector<HostRecord> hosts;  // sorted by name
    RecordDirScan dir;              // what was skipped, temporary files, completeness
};

// Every valid record in <shared_root>/hosts/.
[[nodiscard]] HostScan scan_host_records(const std::filesystem::path& shared_root);

}  // namespace appshare
