#include "virt/reshare_domain.hpp"

#include "base/file_lock.hpp"
#include "instance/instance_metadata.hpp"
#include "instance/instance_paths.hpp"
#include "virt/domain.hpp"

#include <unistd.h>

namespace appshare {

Result<ReshareOutcome> reshare_domain(const Connection& conn, std::string_view name, const Config& config, const LogFn& log)
{
    auto dom = lookup_domain(conn, name);
    if (!dom) return std::move(dom).error();
    auto xml = domain_xml(*dom, DomainXmlKind::Inactive);
    if (!xml) return std::move(xml).error();
    auto meta = read_instance_metadata(*xml, "the definition of domain " + std::string(name));
    if (!meta) return std::move(meta).error();
    if (!*meta) {
        return make_error(ErrorCode::BadManifest, "domain " + std::string(name) +
                                                      " was not installed by appshare (it has no appshare metadata); reshare only applies to appshare instances.");
    }
    auto paths = trusted_instance_paths(config, name, **meta);
    if (!paths) return std::move(paths).error();
    LoadOptions options;
    options.holder = this_process_holder("appshare reshare " + std::string(name));
    options.log = log;
    // Asked live each time: reshare asks again once it holds the instance lock.
    const StoppedCheck stopped = [&dom]() -> Result<DomainStopped> {
        auto state = domain_state(*dom);
        if (!state) return std::move(state).error();
        return *state == DomainState::ShutOff ? DomainStopped::Yes : DomainStopped::No;
    };
    return reshare_instance(config, *paths, stopped, options);
}

}  // namespace appshare
