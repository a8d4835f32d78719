// `appshare gc`: removes what no instance on any host has used for a grace period — shared
// bases and boot files (with their verification records, lock and temporary files), host-local
// copies in local_root, temporary files of dead writers — and keeps this host's usage records
// true to the domains libvirt has here.
//
// A file in the shared store stays when any of these holds:
//   - a usage record of a host that is not gone names it (as base or boot file; a record of an
//     older appshare that does not list boot files keeps every boot file);
//   - a domain libvirt has on this host names it in its appshare metadata;
//   - it was used within the grace period: loaded, verified, or its lock taken (by a start,
//     install or reshare on any host; a lock taken within `lock_recent` keeps it whatever the
//     grace, so a start between its lock-and-load and its `started` record is never undercut);
//   - the usage records could not all be read.
// A host-local copy stays when a domain here names it or it was used within the grace period.
// Every removal is decided again under the file's lock right before it (store/blob_gc.hpp);
// a file whose lock stays busy is skipped, never removed. The records of a gone host keep
// nothing, and the report says which host was taken as gone and since when.
//
// This host's records are reconciled with libvirt (`LocalDomains`): a record of a domain
// libvirt no longer has here is removed (unless written within `lock_recent`: an install or
// start may be under way), one whose state is wrong is rewritten, and a domain without one gets
// one. Not when another machine has recorded itself under this host's name (machine ids differ):
// then this host's records count like any other host's.
#pragma once

#include "instance/config.hpp"
#include "instance/context.hpp"
#include "instance/instance_paths.hpp"
#include "base/result.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace appshare {

// A domain with appshare metadata that libvirt has on this host.
struct LocalDomain {
    std::string name;
    bool active = false;                  // running (or paused) now
    std::vector<std::string> digests;     // its base and boot files
    std::optional<InstancePaths> paths;   // when its metadata is valid and names its own context
};

// What libvirt says about this host, gathered by the virt layer (virt/gc_domains.hpp).
struct LocalDomains {
    std::vector<LocalDomain> appshare;
    std::set<std::string> names;          // every domain libvirt has here, defined or running
    std::vector<std::string> warnings;    // domains whose metadata could not be read
    // Whether libvirt has a domain of that name right now: asked again right before this
    // host's record of a domain it did not have is removed.
    std::function<Result<bool>(const std::string& name)> exists;
};

struct GcOptions {
    bool dry_run = false;                             // decide and report, change nothing
    std::chrono::seconds grace{86400};
    std::chrono::milliseconds lock_wait{5000};        // per file; a lock busy longer: skipped
    std::chrono::seconds lock_recent{600};
    LogFn notice;                                     // events worth telling as they happen (a lock wait)
};

// A file gc removed (or would remove), kept or skipped.
struct GcItem {
    std::string what;            // "base", "boot file", "host-local copy", "temporary file", ...
    std::filesystem::path path;
    std::string sha256;          // empty for temporary files of records
    std::uint64_t bytes = 0;     // on disk
    std::string reason;
};

struct GcRecordChange {
    std::string action;  // "removed", "rewritten", "written"
    std::string host;
    std::string domain;
    std::string base_sha256;
    std::string reason;
};

struct GoneHost {
    std::string name;
    std::string last_seen;
    std::chrono::seconds unseen{0};
    std::size_t records = 0;
};

struct GcReport {
    bool dry_run = false;
    std::chrono::seconds grace{0};
    std::chrono::seconds host_gone{0};
    std::vector<GcItem> removed;   // with dry_run: what would be removed
    std::vector<GcItem> kept;
    std::vector<GcItem> skipped;   // not decided now (lock busy, cannot be removed)
    std::vector<GcRecordChange> records;
    std::vector<GoneHost> gone_hosts;
    std::vector<std::string> warnings;
    std::uint64_t bytes_freed = 0;
    bool interrupted = false;      // stopped at Ctrl-C between two files
};

// Runs gc over config.shared_root and config.local_root. Errors: Io when a store directory
// cannot be read; everything else is in the report.
[[nodiscard]] Result<GcReport> collect_garbage(const Config& config, const LocalDomains& local, const GcOptions& options);

// What was removed, kept, skipped and said, and the bytes freed (ends in a newline).
[[nodiscard]] std::string gc_report_text(const GcReport& report);

// The same as JSON (README, "Using appshare").
[[nodiscard]] nlohmann::json gc_report_json(const GcReport& report);

}  // namespace appshare
