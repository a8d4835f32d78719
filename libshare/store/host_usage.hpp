// What the shared storage says about every host: the hosts registry (store/host_registry.hpp)
// and the usage records (store/usage_records.hpp) read together, each host judged live or gone.
// The one reading behind `appshare list --all-hosts` and `appshare gc`.
//
// A host is gone when its registry entry was last seen more than `gone_after` ago; its usage
// records then no longer keep a base (a crash, a host taken out of service: nothing will ever
// release them). This host is always live. A host with records but no (valid) registry entry
// may run an older appshare that does not register: its records are kept, and that is said.
#pragma once

#include "base/host_identity.hpp"
#include "store/host_registry.hpp"
#include "store/usage_records.hpp"

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace appshare {

enum class HostStatus { ThisHost, Live, Gone, Unregistered };

// "this host", "live", "gone", "unregistered".
[[nodiscard]] std::string_view host_status_name(HostStatus status) noexcept;

struct KnownHost {
    std::string name;
    HostStatus status = HostStatus::Unregistered;
    std::optional<HostRecord> record;  // its registry entry
    std::chrono::seconds unseen{0};    // since record->last_seen (0 without an entry)
    std::size_t records = 0;           // usage records it wrote

    // Whether its usage records keep a base: those of every host but a gone one.
    [[nodiscard]] bool keeps_bases() const noexcept { return status != HostStatus::Gone; }
};

struct HostUsage {
    std::vector<UsageRecord> records;          // sorted by base, host, domain
    std::map<std::string, KnownHost> hosts;    // every host in the registry or in a record
    std::vector<std::string> skipped;          // files that are not valid records or entries, and why
    std::vector<std::filesystem::path> temporary;  // writers' temporary files (usage/ and hosts/)
    bool complete = true;                      // false when something could not be read

    // The host that wrote `record` (every record's host is in `hosts`).
    [[nodiscard]] const KnownHost& host_of(const UsageRecord& record) const { return hosts.at(record.host); }
};

struct HostJudgement {
    std::chrono::seconds gone_after{3 * 86400};
    std::chrono::system_clock::time_point now = std::chrono::system_clock::now();
    std::string this_host = this_host_name();
};

// Reads the registry and every usage record (or those of `base_sha256` only) and judges each host.
[[nodiscard]] HostUsage read_host_usage(const std::filesystem::path& shared_root, const HostJudgement& judge,
                                        std::string_view base_sha256 = {});

}  // namespace appshare
