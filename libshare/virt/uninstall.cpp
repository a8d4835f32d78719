#include "virt/uninstall.hpp"

#include "core/context.hpp"
#include "core/instance_metadata.hpp"
#include "virt/domain.hpp"

namespace appshare {
namespace {

// The libvirt layer's messages end without a full stop; the command prints one sentence.
Error as_sentence(Error e)
{
    if (!e.message.empty() && e.message.back() != '.') e.message += '.';
    return e;
}

}  // namespace

Result<UninstallResult> uninstall_instance(const Connection& conn, const Config& config, const UninstallRequest& r)
{
    auto dom = lookup_domain(conn, r.name);
    if (!dom) return as_sentence(std::move(dom).error());
    auto xml = domain_xml(*dom, DomainXmlKind::Inactive);
    if (!xml) return as_sentence(std::move(xml).error());
    auto meta = read_instance_metadata(*xml, "domain '" + r.name + "'");
    if (!meta) return std::move(meta).error();
    if (!*meta) {
        return make_error(ErrorCode::NotFound, "domain '" + r.name +
                                                   "' was not installed by appshare (it has no appshare metadata), so appshare leaves it alone; use 'virsh undefine " +
                                                   r.name + "' if you mean to remove it.");
    }
    const InstanceMetadata& m = **meta;
    const auto root = config.context_root.lexically_normal();
    if (m.context_dir.lexically_normal().parent_path() != root) {
        return make_error(ErrorCode::UnsafePath, "the context of '" + r.name + "' (" + m.context_dir.string() +
                                                     ") is not inside the configured context root " + root.string() +
                                                     "; fix context_root in the appshare configuration, or undefine the domain with virsh and remove its files by hand.");
    }

    UninstallResult out;
    out.name = r.name;
    out.context_dir = m.context_dir;
    out.base = m.base.path;

    auto state = domain_state(*dom);
    if (!state) return as_sentence(std::move(state).error());
    if (*state != DomainState::ShutOff) {
        if (!r.force) {
            return make_error(ErrorCode::DomainRunning, "instance '" + r.name + "' is " +
                                                            std::string(domain_state_name(*state)) +
                                                            "; shut it down first ('virsh shutdown " + r.name +
                                                            "') or add --force to stop it at once.");
        }
        if (auto d = destroy_domain(*dom); !d) {
            auto again = domain_state(*dom);  // it may have stopped by itself meanwhile
            if (!again || *again != DomainState::ShutOff) return as_sentence(std::move(d).error());
        }
        out.stopped = true;
    }
    if (auto u = undefine_domain(*dom); !u) return as_sentence(std::move(u).error());
    if (auto c = remove_context(config.context_root, m.context_dir); !c) return std::move(c).error();
    return out;
}

}  // namespace appshare
