#include "virt/appshare_domain.hpp"

#include "instance/instance_paths.hpp"

namespace appshare {

Result<std::optional<AppshareDomain>> load_appshare_domain(Domain domain, const Config& config)
{
    const std::string name = domain_name(domain);
    auto xml = domain_xml(domain, DomainXmlKind::Inactive);
    if (!xml) return std::move(xml).error();
    auto meta = read_instance_metadata(*xml, "domain '" + name + "'");
    if (!meta) return std::move(meta).error();
    if (!*meta) return std::optional<AppshareDomain>{};
    auto context = trusted_context_layout(config, name, **meta);
    return std::optional<AppshareDomain>(
        AppshareDomain{std::move(domain), name, std::move(**meta), std::move(context)});
}

Result<AppshareDomain> load_appshare_domain(const Connection& conn, std::string_view name, const Config& config)
{
    auto dom = lookup_domain(conn, name);
    if (!dom) return std::move(dom).error();
    auto loaded = load_appshare_domain(std::move(*dom), config);
    if (!loaded) return std::move(loaded).error();
    if (!*loaded) {
        const std::string n(name);
        return make_error(ErrorCode::NotFound, "domain '" + n +
                                                   "' was not installed by appshare (it has no appshare metadata), so appshare leaves it alone; "
                                                   "see appshare's instances with 'appshare list', and manage this domain with virsh.");
    }
    return std::move(**loaded);
}

}  // namespace appshare
