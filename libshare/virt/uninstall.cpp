#include "virt/uninstall.hpp"

#include "instance/context.hpp"
#include "base/file_lock.hpp"
#include "instance/context.hpp"
#include "instance/instance_metadata.hpp"
#include "instance/instance_paths.hpp"
#include "virt/domain.hpp"

#include <chrono>

#include <unistd.h>

namespace appshare {

Result<UninstallResult> uninstall_instance(const Connection& conn, const Config& config, const UninstallRequest& r)
{
    auto dom = lookup_domain(conn, r.name);
    if (!dom) return std::move(dom).error();
    auto xml = domain_xml(*dom, DomainXmlKind::Inactive);
    if (!xml) return std::move(xml).error();
    auto meta = read_instance_metadata(*xml, "domain '" + r.name + "'");
    if (!meta) return std::move(meta).error();
    if (!*meta) {
        return make_error(ErrorCode::NotFound, "domain '" + r.name +
                                                   "' was not installed by appshare (it has no appshare metadata), so appshare leaves it alone; use 'virsh undefine " +
                                                   r.name + "' if you mean to remove it.");
    }
    const InstanceMetadata& m = **meta;
    // Only the domain's own context may go: never one its metadata names for another instance.
    auto layout = trusted_context_layout(config, r.name, m);
    if (!layout) {
        return make_error(ErrorCode::UnsafePath,
                          "appshare will not uninstall '" + r.name + "' because its metadata does not match its own context " +
                              context_layout(config.context_root, r.name).dir.string() + " (it names " +
                              m.context_dir.string() + " and overlay " + m.overlay.string() +
                              ", or the directory is a symbolic link; a copy of another instance's definition keeps that instance's metadata), so nothing was removed; use 'virsh undefine " +
                              r.name + "' to remove the domain alone.");
    }

    UninstallResult out;
    out.name = r.name;
    out.context_dir = layout->dir;
    out.base = m.base.path;

    // Under the instance lock no start can pass its hook: the state seen here holds until the
    // domain is undefined.
    const LockHolder me = this_process_holder("appshare uninstall " + r.name, "uninstall instance");
    auto lock = lock_context(*layout, std::chrono::duration_cast<std::chrono::milliseconds>(config.lock_wait), me);
    if (!lock) return std::move(lock).error();

    auto state = domain_state(*dom);
    if (!state) return std::move(state).error();
    if (*state != DomainState::ShutOff) {
        if (!r.force) {
            return make_error(ErrorCode::DomainRunning, "instance '" + r.name + "' is " +
                                                            std::string(domain_state_name(*state)) +
                                                            "; shut it down first ('virsh shutdown " + r.name +
                                                            "') or add --force to stop it at once.");
        }
        if (auto d = destroy_domain(*dom); !d) {
            auto again = domain_state(*dom);  // it may have stopped by itself meanwhile
            if (!again || *again != DomainState::ShutOff) return std::move(d).error();
        }
        out.stopped = true;
    }
    if (auto u = undefine_domain(*dom); !u) return std::move(u).error();
    // Undefining a domain that runs (started despite all) leaves it transient: its disk is in use.
    if (auto still = lookup_domain(conn, r.name)) {
        return make_error(ErrorCode::DomainRunning, "instance '" + r.name +
                                                        "' was started while being uninstalled; its definition is gone but it still runs, so its context " +
                                                        layout->dir.string() + " was kept: stop it ('virsh destroy " + r.name +
                                                        "') and remove that directory by hand.");
    }
    if (auto c = remove_context(config.context_root, layout->dir); !c) return std::move(c).error();
    return out;
}

}  // namespace appshare
