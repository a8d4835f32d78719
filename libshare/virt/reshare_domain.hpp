// `appshare reshare NAME` on a libvirt domain: look the domain up, make sure it is shut off,
// read its appshare metadata from the persistent definition, check its paths against the
// configuration, and move it back onto the shared base (instance/reshare.hpp).
#pragma once

#include "instance/config.hpp"
#include "instance/reshare.hpp"
#include "base/result.hpp"
#include "virt/connection.hpp"

#include <string_view>

namespace appshare {

// Errors: NotFound (no such domain), BadManifest (not an appshare domain, or malformed
// metadata), DomainRunning (not shut off), UnsafePath, and reshare_instance's errors.
[[nodiscard]] Result<ReshareOutcome> reshare_domain(const Connection& conn, std::string_view name, const Config& config,
                                                    const LogFn& log = {});

}  // namespace appshare
