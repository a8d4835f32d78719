#include "virt/reshare_domain.hpp"

#include "base/file_lock.hpp"
#include "base/installed_files.hpp"
#include "instance/domain_xml.hpp"
#include "instance/instance_paths.hpp"
#include "virt/appshare_domain.hpp"
#include "virt/domain.hpp"

#include <unistd.h>

namespace appshare {

Result<ReshareOutcome> reshare_domain(const Connection& conn, std::string_view name, const Config& config, const LogFn& log)
{
    auto instance = load_appshare_domain(conn, name, config);
    if (!instance) return std::move(instance).error();
    if (!instance->context) return std::move(instance->context).error();
    // The same context, with the base and boot files at the shared store's paths for their digests.
    auto paths = trusted_instance_paths(config, name, instance->metadata);
    if (!paths) return std::move(paths).error();
    LoadOptions options;
    options.holder = this_process_holder("appshare reshare " + std::string(name));
    options.log = log;
    // Asked live each time: reshare asks again once it holds the instance lock.
    const Domain& dom = instance->domain;
    const StoppedCheck stopped = [&dom]() -> Result<DomainStopped> {
        auto state = domain_state(dom);
        if (!state) return std::move(state).error();
        return *state == DomainState::ShutOff ? DomainStopped::Yes : DomainStopped::No;
    };
    auto out = reshare_instance(config, *paths, stopped, options);
    if (!out) return out;
    // A definition an older appshare wrote lets libvirt probe the overlay and chown the base it
    // finds at every start: give it the backing chain install writes now.
    auto xml = domain_xml(dom, DomainXmlKind::Inactive);
    if (!xml) return std::move(xml).error();
    auto spelled = spell_out_backing_chain(*xml, paths->context.overlay, paths->context.base_link,
                                           paths->base.image_format, template_dir() / "domain.xml");
    if (!spelled) return std::move(spelled).error();
    if (*spelled) {
        auto redefined = define_domain(conn, **spelled);
        if (!redefined) return std::move(redefined).error();
        out->definition_updated = true;
        if (log) log("domain " + std::string(name) + " now names its base link with relabel='no' (libvirt no longer relabels its base)");
    }
    return out;
}

}  // namespace appshare
