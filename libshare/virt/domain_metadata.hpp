// A domain's custom <metadata> elements (virDomainGetMetadata / virDomainSetMetadata with
// VIR_DOMAIN_METADATA_ELEMENT): one element per XML namespace, owned by whoever picked the
// namespace URI.
#pragma once

#include "base/result.hpp"
#include "virt/domain.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace appshare {

// Which definition a metadata change or read applies to (VIR_DOMAIN_AFFECT_*): Current is the
// live one of a running domain, else the persistent one.
enum class MetadataScope { Current, Live, Config, LiveAndConfig };

// The element in namespace `ns_uri` as XML text, or std::nullopt when the domain has none.
// (Not LiveAndConfig: libvirt reads one definition.)
[[nodiscard]] Result<std::optional<std::string>> get_domain_metadata(const Domain& dom, std::string_view ns_uri,
                                                                     MetadataScope scope = MetadataScope::Current);

// Stores `element_xml` (one element; libvirt puts it in namespace `ns_uri` with prefix
// `ns_prefix`), replacing any element of that namespace.
[[nodiscard]] Result<void> set_domain_metadata(const Domain& dom, std::string_view element_xml,
                                               std::string_view ns_prefix, std::string_view ns_uri,
                                               MetadataScope scope = MetadataScope::Current);

// Removes the element in namespace `ns_uri`; succeeds when there is none.
[[nodiscard]] Result<void> remove_domain_metadata(const Domain& dom, std::string_view ns_uri,
                                                  MetadataScope scope = MetadataScope::Current);

}  // namespace appshare
