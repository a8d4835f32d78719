#include "virt/domain_metadata.hpp"

#include "virt/libvirt_error.hpp"
#include "virt/libvirt_string.hpp"

#include <libvirt/virterror.h>

namespace appshare {

namespace {

unsigned int affect_flags(MetadataScope scope)
{
    switch (scope) {
    case MetadataScope::Current: return VIR_DOMAIN_AFFECT_CURRENT;
    case MetadataScope::Live: return VIR_DOMAIN_AFFECT_LIVE;
    case MetadataScope::Config: return VIR_DOMAIN_AFFECT_CONFIG;
    case MetadataScope::LiveAndConfig: return VIR_DOMAIN_AFFECT_LIVE | VIR_DOMAIN_AFFECT_CONFIG;
    }
    return VIR_DOMAIN_AFFECT_CURRENT;
}

Error metadata_error(std::string_view action, const Domain& dom, std::string_view ns_uri)
{
    const LibvirtFailure failure = take_libvirt_failure();
    return libvirt_error(failure,
                         "cannot " + std::string(action) + " the metadata " + std::string(ns_uri) + " of domain '" +
                             domain_name(dom) + "'",
                         "check the domain with 'virsh dumpxml " + domain_name(dom) + "'");
}

}  // namespace

Result<std::optional<std::string>> get_domain_metadata(const Domain& dom, std::string_view ns_uri,
                                                       MetadataScope scope)
{
    const std::string uri(ns_uri);
    const LibvirtString xml(
        virDomainGetMetadata(dom.get(), VIR_DOMAIN_METADATA_ELEMENT, uri.c_str(), affect_flags(scope)));
    if (!xml) {
        if (const virError* e = virGetLastError(); e != nullptr && e->code == VIR_ERR_NO_DOMAIN_METADATA) {
            virResetLastError();
            return std::optional<std::string>{};
        }
        return metadata_error("read", dom, ns_uri);
    }
    return std::optional<std::string>(xml.get());
}

Result<void> set_domain_metadata(const Domain& dom, std::string_view element_xml, std::string_view ns_prefix,
                                 std::string_view ns_uri, MetadataScope scope)
{
    const std::string xml(element_xml);
    const std::string prefix(ns_prefix);
    const std::string uri(ns_uri);
    if (virDomainSetMetadata(dom.get(), VIR_DOMAIN_METADATA_ELEMENT, xml.c_str(), prefix.c_str(), uri.c_str(),
                             affect_flags(scope)) < 0) {
        return metadata_error("set", dom, ns_uri);
    }
    return ok();
}

Result<void> remove_domain_metadata(const Domain& dom, std::string_view ns_uri, MetadataScope scope)
{
    const std::string uri(ns_uri);
    if (virDomainSetMetadata(dom.get(), VIR_DOMAIN_METADATA_ELEMENT, nullptr, nullptr, uri.c_str(),
                             affect_flags(scope)) < 0) {
        return metadata_error("remove", dom, ns_uri);
    }
    return ok();
}

}  // namespace appshare
