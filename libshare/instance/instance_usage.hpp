// This host's usage record of one instance (store/usage_records.hpp): what the hook writes at
// `started` / `reconnect` / `release`, install after defining the domain, and `appshare gc` when
// it reconciles this host's records with the domains libvirt has here.
#pragma once

#include "instance/config.hpp"
#include "instance/instance_paths.hpp"
#include "store/usage_records.hpp"

#include <string>

namespace appshare {

// The record of `paths`'s instance on this host in `state` ("running" / "stopped"), since now:
// this host's name and machine id, the base and boot file digests, and mode and base file from
// its instance.json when it has one (else shared, on the shared base).
[[nodiscard]] UsageRecord instance_usage_record(const Config& config, const InstancePaths& paths, std::string state);

}  // namespace appshare
