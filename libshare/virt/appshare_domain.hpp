// An appshare instance as libvirt knows it: a domain whose persistent definition carries appshare
// metadata, and the context that metadata is allowed to name. The one way uninstall, reshare and
// list read a domain before they touch (or look into) its context.
#pragma once

#include "base/result.hpp"
#include "instance/config.hpp"
#include "instance/context.hpp"
#include "instance/instance_metadata.hpp"
#include "virt/connection.hpp"
#include "virt/domain.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace appshare {

struct AppshareDomain {
    Domain domain;
    std::string name;
    InstanceMetadata metadata;  // from the persistent definition (VIR_DOMAIN_XML_INACTIVE); untrusted
    // The domain's own context, <context_root>/<name>, when the metadata names exactly it
    // (trusted_context_layout); else why not: UnsafePath (another context, a symbolic link) or
    // Io (a path could not be inspected). Whoever touches or walks the context refuses then.
    Result<ContextLayout> context;
};

// Reads `domain`'s appshare metadata and checks its context against `config`. nullopt: the
// domain has no appshare metadata (appshare did not install it). Errors: NotFound (the domain was
// undefined meanwhile), Libvirt (its definition cannot be read), BadManifest (malformed metadata).
[[nodiscard]] Result<std::optional<AppshareDomain>> load_appshare_domain(Domain domain, const Config& config);

// The same for the domain called `name`. Errors: NotFound, in one sentence naming the domain and
// what to do, when there is no such domain or it has no appshare metadata; Libvirt; BadManifest.
[[nodiscard]] Result<AppshareDomain> load_appshare_domain(const Connection& conn, std::string_view name,
                                                          const Config& config);

}  // namespace appshare
