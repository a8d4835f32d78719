// `appshare list --all-hosts`: every instance the shared storage knows of, on every host — from
// the usage records and the hosts registry (store/host_usage.hpp), without asking libvirt —
// with its host, base, mode and state, and whether its host is live.
#pragma once

#include "instance/config.hpp"
#include "store/host_usage.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace appshare {

struct AllHostsListing {
    std::vector<UsageRecord> instances;  // ordered by host, domain
    std::vector<KnownHost> hosts;        // ordered by name
    std::vector<std::string> warnings;   // files skipped as not valid records, hosts not registered
};

// Reads `config.shared_root`; hosts are judged with `config.host_gone`.
[[nodiscard]] AllHostsListing list_all_hosts(const Config& config);

// A table of instances, then one line per host (ends in a newline).
[[nodiscard]] std::string all_hosts_text(const AllHostsListing& listing);

// {"instances": [{"host", "domain", "base_sha256", "mode", "state", "path", "since",
//   "host_status", "host_live"}], "hosts": [{"name", "status", "live", "machine_id", "last_seen",
//   "unseen_seconds", "appshare_version", "records"}], "warnings": [...]}; "live" is null for a
// host that is not in the registry (not known).
[[nodiscard]] nlohmann::json all_hosts_json(const AllHostsListing& listing);

}  // namespace appshare
