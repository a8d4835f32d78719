// `appshare reshare NAME` on a libvirt domain: load it as an appshare instance
// (virt/appshare_domain.hpp), check its paths against the configuration, and move it back onto
// the shared base once it is shut off (instance/reshare.hpp). A definition written by an older
// appshare (no <backingStore> on the overlay) is given the backing chain install writes now.
#pragma once

#include "base/result.hpp"
#include "instance/config.hpp"
#include "instance/reshare.hpp"
#include "virt/connection.hpp"

#include <string_view>

namespace appshare {

// Errors: NotFound (no such domain, or one appshare did not install), BadManifest (malformed
// metadata), UnsafePath (metadata naming another context or file), DomainRunning (not shut
// off), and reshare_instance's errors. `log` gets one line per event (lock waits, loads).
[[nodiscard]] Result<ReshareOutcome> reshare_domain(const Connection& conn, std::string_view name, const Config& config,
                                                    const LogFn& log = {});

}  // namespace appshare
