#include "virt/uninstall.hpp"

#include "base/file_lock.hpp"
#include "instance/context.hpp"
#include "store/host_registry.hpp"
#include "store/usage_records.hpp"
#include "virt/appshare_domain.hpp"
#include "virt/domain.hpp"

#include <chrono>

#include <unistd.h>

namespace appshare {
namespace {

// Only the domain's own context may go, never one its metadata names for another instance (a
// copy of another instance's definition keeps that instance's metadata): the refusal keeps the
// check's code and says what to do instead.
Error refuse_context(const std::string& name, const Error& why)
{
    return make_error(why.code, message_what_failed(why.message) + ", so appshare will not uninstall '" + name +
                                    "' and nothing was removed; use 'virsh undefine " + name +
                                    "' to remove the domain alone.");
}

}  // namespace

Result<UninstallResult> uninstall_instance(const Connection& conn, const Config& config, const UninstallRequest& r)
{
    auto instance = load_appshare_domain(conn, r.name, config);
    if (!instance) return std::move(instance).error();
    if (!instance->context) return refuse_context(r.name, instance->context.error());
    const ContextLayout& layout = *instance->context;
    const Domain& dom = instance->domain;

    UninstallResult out;
    out.name = r.name;
    out.context_dir = layout.dir;
    out.base = instance->metadata.base.path;

    // Under the instance lock no start can pass its hook: the state seen here holds until the
    // domain is undefined.
    const LockHolder me = this_process_holder("appshare uninstall " + r.name, "uninstall instance");
    auto lock = lock_context(layout, std::chrono::duration_cast<std::chrono::milliseconds>(config.lock_wait), me);
    if (!lock) return std::move(lock).error();

    auto state = domain_state(dom);
    if (!state) return std::move(state).error();
    if (*state != DomainState::ShutOff) {
        if (!r.force) {
            return make_error(ErrorCode::DomainRunning, "instance '" + r.name + "' is " +
                                                            std::string(domain_state_name(*state)) +
                                                            "; shut it down first ('virsh shutdown " + r.name +
                                                            "') or add --force to stop it at once.");
        }
        if (auto d = destroy_domain(dom); !d) {
            auto again = domain_state(dom);  // it may have stopped by itself meanwhile
            if (!again || *again != DomainState::ShutOff) return std::move(d).error();
        }
        out.stopped = true;
    }
    if (auto u = undefine_domain(dom); !u) return std::move(u).error();
    // Undefining a domain that runs (started despite all) leaves it transient: its disk is in use.
    if (auto still = lookup_domain(conn, r.name)) {
        return make_error(ErrorCode::DomainRunning, "instance '" + r.name +
                                                        "' was started while being uninstalled; its definition is gone but it still runs, so its context " +
                                                        layout.dir.string() + " was kept: stop it ('virsh destroy " + r.name +
                                                        "') and remove that directory by hand.");
    }
    if (auto c = remove_context(config.context_root, layout.dir); !c) return std::move(c).error();
    // The domain no longer uses its base from this host: gc on any host may collect it once
    // nothing else does. Failing here is said; `appshare gc` here removes the record later.
    if (auto rm = remove_usage_record(config.shared_root, instance->metadata.base.sha256, this_host_name(), r.name); !rm) {
        out.warnings.push_back(rm.error().message);
    }
    if (auto h = refresh_host_record(config.shared_root, std::chrono::seconds(0)); !h) out.warnings.push_back(h.error().message);
    return out;
}

}  // namespace appshare
