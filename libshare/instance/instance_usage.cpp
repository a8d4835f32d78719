#include "instance/instance_usage.hpp"

#include "base/host_identity.hpp"
#include "base/time_format.hpp"
#include "instance/instance_state.hpp"
#include "instance/stores.hpp"

namespace appshare {

UsageRecord instance_usage_record(const Config& config, const InstancePaths& paths, std::string state)
{
    UsageRecord rec;
    rec.host = this_host_name();
    rec.domain = paths.domain;
    rec.base_sha256 = paths.base.sha256;
    rec.mode = "shared";
    rec.path = shared_store(config).path_of(paths.base);
    if (auto s = load_instance_state(paths.context.dir); s && *s) {
        rec.mode = std::string(instance_mode_name((*s)->mode));
        if (!(*s)->base.empty()) rec.path = (*s)->base;
    }
    rec.since = utc_timestamp_now();
    rec.state = std::move(state);
    rec.machine_id = this_machine_id();
    rec.boot_sha256.emplace();
    for (const auto* boot : paths.boot_files()) rec.boot_sha256->push_back(boot->spec.sha256);
    return rec;
}

}  // namespace appshare
