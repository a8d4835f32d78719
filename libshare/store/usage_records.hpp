// Which hosts and domains use which shared base, recorded on the shared storage itself so that
// every host sharing it sees them (`appshare list --all-hosts`, and `appshare gc`, which never
// removes a base that a record of a live host names). One small file per (base, host, domain),
// written atomically; no lock is needed because each file has a single writer (the host
// running that domain).
//
//   <shared_root>/usage/<sha256>/<host>@<domain>.json
//   {"host": "h1", "domain": "web1", "base": "<sha256>", "mode": "shared", "path": "/…",
//    "since": "2026-11-25T10:00:00Z", "state": "running", "machine_id": "<32 hex>",
//    "boot": ["<kernel sha256>", "<initrd sha256>"], "uuid": "<the domain's UUID>"}
//
// A record lives as long as the domain is defined on that host: `appshare install` writes it
// (state "stopped"), the hook rewrites it at `started` / `reconnect` ("running") and `release`
// ("stopped"), `appshare uninstall` removes it, and `appshare gc` reconciles this host's records
// with the domains libvirt really has here (after a crash, or a plain `virsh undefine`). The
// records of a host that is gone (hosts registry, store/host_registry.hpp) keep nothing.
// Records written by an older appshare lack "state" (they meant "running"), "machine_id" and
// "boot" (then it is not known which boot files the domain uses), and "uuid" (the domain's UUID,
// which tells the same instance on another host, after a live migration, from a namesake).
//
// Read as untrusted (other hosts write them, store/json_records.hpp): host and domain must be
// plain names (base/text.hpp is_plain_name) matching the file's name, the base the directory's
// digest, every field of its form; anything else is skipped and named.
#pragma once

#include "base/result.hpp"
#include "store/json_records.hpp"

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace appshare {

// The longest host name (and domain name) a record may carry.
inline constexpr std::size_t kMaxRecordedNameBytes = 253;

struct UsageRecord {
    std::string host;
    std::string domain;
    std::string base_sha256;
    std::string mode;            // "shared" / "independent"
    std::filesystem::path path;  // the base file the domain runs on
    std::string since;           // UTC timestamp of the last change of state
    std::string state = "running";  // "running" / "stopped" (the domain is defined there)
    std::string machine_id;         // the writer's machine id; empty when not known
    // The digests of the domain's boot files (kernel, initrd); nullopt when the record does not
    // say (written by an older appshare).
    std::optional<std::vector<std::string>> boot_sha256 = std::vector<std::string>{};
    std::string uuid;  // the domain's UUID (lowercase); empty when not known
};

// The file of a record.
[[nodiscard]] std::filesystem::path usage_record_path(const std::filesystem::path& shared_root,
                                                      const UsageRecord& record);

// Writes (or replaces) the record. Errors: Internal for an invalid digest, UnsafePath for a
// host or domain name that is not plain, Io.
[[nodiscard]] Result<void> write_usage_record(const std::filesystem::path& shared_root, const UsageRecord& record);

// Removes the record of (base, host, domain); succeeds when there is none.
[[nodiscard]] Result<void> remove_usage_record(const std::filesystem::path& shared_root, std::string_view base_sha256,
                                               std::string_view host, std::string_view domain);

struct UsageScan {
    std::vector<UsageRecord> records;  // sorted by base, host, domain
    RecordDirScan dir;                 // what was skipped, temporary files, completeness
};

// Every valid record, for all bases (or only `base_sha256` when not empty).
[[nodiscard]] UsageScan scan_usage_records(const std::filesystem::path& shared_root, std::string_view base_sha256 = {});

// The records alone (scan_usage_records(...).records).
[[nodiscard]] std::vector<UsageRecord> list_usage_records(const std::filesystem::path& shared_root,
                                                          std::string_view base_sha256 = {});

}  // namespace appshare
