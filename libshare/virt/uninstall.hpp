// appshare uninstall: removes an appshare instance — its domain definition and its context —
// and never a shared base (other instances and hosts use it).
#pragma once

#include "instance/config.hpp"
#include "base/result.hpp"
#include "virt/connection.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace appshare {

struct UninstallRequest {
    std::string name;
    bool force = false;  // stop (destroy) a running instance first
};

struct UninstallResult {
    std::string name;
    bool stopped = false;               // it was running and --force stopped it
    std::filesystem::path context_dir;  // removed
    std::filesystem::path base;         // left in place
    std::vector<std::string> warnings;  // bookkeeping on the shared storage that failed
};

// Loads the domain with load_appshare_domain: refuses (NotFound) a domain without appshare
// metadata and, with the check's code (UnsafePath, or Io when a path cannot be inspected),
// metadata whose context is not exactly the domain's own (<context_root>/<NAME>; a copy of
// another instance's definition names that instance's context). Then takes the instance lock
// (no start passes its hook meanwhile), refuses (DomainRunning) an active domain unless
// `force` — all before anything changes — stops the domain if forced, undefines it and removes
// its context directory; if the domain still exists after undefining (it was started and is
// now transient) the context is kept (DomainRunning). Last, removes this host's usage record of
// the domain and refreshes this host in the hosts registry (failures there are warnings).
[[nodiscard]] Result<UninstallResult> uninstall_instance(const Connection& conn, const Config& config,
                                                         const UninstallRequest& request);

}  // namespace appshare
