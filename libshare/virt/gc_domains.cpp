#include "virt/gc_domains.hpp"

#include "base/sha256.hpp"
#include "instance/instance_metadata.hpp"
#include "instance/instance_paths.hpp"
#include "virt/appshare_domain.hpp"
#include "virt/domain.hpp"

#include <algorithm>

namespace appshare {
namespace {

void add_digests(const InstanceMetadata& m, std::vector<std::string>& out)
{
    const auto add = [&](const std::string& sha) {
        if (is_sha256_digest(sha) && std::find(out.begin(), out.end(), sha) == out.end()) out.push_back(sha);
    };
    add(m.base.sha256);  // first: the base
    if (m.kernel) add(m.kernel->sha256);
    if (m.initrd) add(m.initrd->sha256);
}

bool is_active(DomainState s) { return s != DomainState::ShutOff && s != DomainState::Crashed; }

}  // namespace

Result<LocalDomains> local_domains(const Connection& conn, const Config& config)
{
    auto domains = list_domains(conn, DomainListFilter::All);
    if (!domains) return std::move(domains).error();
    LocalDomains out;
    for (Domain& dom : *domains) {
        const std::string name = domain_name(dom);
        out.names.insert(name);
        auto state = domain_state(dom);
        auto loaded = load_appshare_domain(std::move(dom), config);
        if (!loaded) {
            if (loaded.error().code == ErrorCode::NotFound) continue;  // undefined meanwhile
            if (loaded.error().code == ErrorCode::BadManifest) {
                out.warnings.push_back(loaded.error().message);
                continue;
            }
            return make_error(loaded.error().code, message_what_failed(loaded.error().message) +
                                                       ", so gc cannot know which bases the domains here use and removes nothing; try again.");
        }
        if (!*loaded) continue;
        const AppshareDomain& d = **loaded;
        LocalDomain l;
        l.name = name;
        l.active = state && is_active(*state);
        add_digests(d.metadata, l.digests);
        if (l.active) {
            // A running domain runs on what its live definition says.
            if (auto live = domain_xml(d.domain, DomainXmlKind::Current)) {
                if (auto m = read_instance_metadata(*live, "domain '" + name + "'"); m && *m) add_digests(**m, l.digests);
            }
        }
        if (d.context) {
            if (auto paths = trusted_instance_paths(config, name, d.metadata)) l.paths = std::move(*paths);
        }
        out.appshare.push_back(std::move(l));
    }
    out.exists = [&conn](const std::string& name) -> Result<bool> {
        auto dom = lookup_domain(conn, name);
        if (dom) return true;
        if (dom.error().code == ErrorCode::NotFound) return false;
        return std::move(dom).error();
    };
    return out;
}

Result<GcReport> garbage_collect(const Connection& conn, const Config& config, const GcOptions& options)
{
    auto local = local_domains(conn, config);
    if (!local) return std::move(local).error();
    auto report = collect_garbage(config, *local, options);
    if (report) report->warnings.insert(report->warnings.begin(), local->warnings.begin(), local->warnings.end());
    return report;
}

}  // namespace appshare
