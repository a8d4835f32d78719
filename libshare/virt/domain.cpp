#include "virt/domain.hpp"

#include "virt/libvirt_error.hpp"
#include "virt/libvirt_string.hpp"

#include <libvirt/virterror.h>

#include <array>
#include <cstdlib>

namespace appshare {

namespace {

std::string in_quotes(std::string_view name) { return "'" + std::string(name) + "'"; }

// The error for a failed operation on a domain. `failure` must be taken before any other libvirt
// call (even virDomainGetName resets the last error), so callers take it first. A domain that is
// gone (undefined, or a transient one stopped, since the handle was had) is NotFound.
Error domain_error(const LibvirtFailure& failure, std::string_view action, const Domain& dom, std::string_view hint)
{
    const std::string what = "cannot " + std::string(action) + " domain " + in_quotes(domain_name(dom));
    if (failure.code == VIR_ERR_NO_DOMAIN) {
        return libvirt_error(failure, what, "it no longer exists, check with 'virsh list --all'", ErrorCode::NotFound);
    }
    return libvirt_error(failure, what, hint);
}

}  // namespace

std::string_view domain_state_name(DomainState state) noexcept
{
    switch (state) {
    case DomainState::NoState: return "no state";
    case DomainState::Running: return "running";
    case DomainState::Blocked: return "idle";
    case DomainState::Paused: return "paused";
    case DomainState::ShuttingDown: return "in shutdown";
    case DomainState::ShutOff: return "shut off";
    case DomainState::Crashed: return "crashed";
    case DomainState::Suspended: return "pmsuspended";
    }
    return "unknown";
}

Result<Domain> define_domain(const Connection& conn, std::string_view xml)
{
    const std::string text(xml);
    Domain dom(virDomainDefineXMLFlags(conn.get(), text.c_str(), 0));
    if (!dom) {
        const LibvirtFailure failure = take_libvirt_failure();
        return libvirt_error(failure, "libvirt at " + connection_uri(conn) + " refused the domain XML",
                             "fix the domain definition and try again");
    }
    return dom;
}

Result<Domain> lookup_domain(const Connection& conn, std::string_view name)
{
    const std::string owned(name);
    Domain dom(virDomainLookupByName(conn.get(), owned.c_str()));
    if (!dom) {
        const LibvirtFailure failure = take_libvirt_failure();
        if (failure.code == VIR_ERR_NO_DOMAIN) {
            return make_error(ErrorCode::NotFound, "no domain named " + in_quotes(name) + " in libvirt at " +
                                                       connection_uri(conn) +
                                                       "; check the name with 'virsh list --all'.");
        }
        return libvirt_error(failure, "cannot look up domain " + in_quotes(name) + " in libvirt at " + connection_uri(conn),
                             "is libvirtd still running?");
    }
    return dom;
}

Result<std::vector<Domain>> list_domains(const Connection& conn, DomainListFilter filter)
{
    unsigned int flags = 0;
    if (filter == DomainListFilter::Active) flags = VIR_CONNECT_LIST_DOMAINS_ACTIVE;
    if (filter == DomainListFilter::Inactive) flags = VIR_CONNECT_LIST_DOMAINS_INACTIVE;

    virDomainPtr* raw = nullptr;
    const int n = virConnectListAllDomains(conn.get(), &raw, flags);
    if (n < 0) {
        const LibvirtFailure failure = take_libvirt_failure();
        return libvirt_error(failure, "cannot list the domains of libvirt at " + connection_uri(conn),
                             "is libvirtd still running?");
    }
    // Own every handle first, then the array, so nothing leaks whatever happens next.
    std::vector<Domain> domains;
    domains.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) domains.emplace_back(raw[i]);
    std::free(raw);  // NOLINT: libvirt allocated the array with malloc
    return domains;
}

std::string domain_name(const Domain& dom)
{
    const char* name = virDomainGetName(dom.get());
    return name != nullptr ? name : "?";
}

Result<std::string> domain_uuid(const Domain& dom)
{
    std::array<char, VIR_UUID_STRING_BUFLEN> buf{};
    if (virDomainGetUUIDString(dom.get(), buf.data()) < 0) {
        const LibvirtFailure failure = take_libvirt_failure();
        return domain_error(failure, "read the UUID of", dom, "is libvirtd still running?");
    }
    return std::string(buf.data());
}

Result<void> start_domain(const Domain& dom)
{
    if (virDomainCreate(dom.get()) < 0) {
        const LibvirtFailure failure = take_libvirt_failure();
        return domain_error(failure, "start", dom,
                            "see /var/log/libvirt/qemu/" + domain_name(dom) + ".log and 'virsh dominfo " +
                                domain_name(dom) + "'");
    }
    return ok();
}

Result<void> destroy_domain(const Domain& dom)
{
    if (virDomainDestroy(dom.get()) < 0) {
        const LibvirtFailure failure = take_libvirt_failure();
        return domain_error(failure, "stop", dom, "check its state with 'virsh domstate " + domain_name(dom) + "'");
    }
    return ok();
}

Result<void> undefine_domain(const Domain& dom, FirmwareState firmware)
{
    unsigned int flags = VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA |
                         VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA;
    flags |= firmware == FirmwareState::Remove ? (VIR_DOMAIN_UNDEFINE_NVRAM | VIR_DOMAIN_UNDEFINE_TPM)
                                               : (VIR_DOMAIN_UNDEFINE_KEEP_NVRAM | VIR_DOMAIN_UNDEFINE_KEEP_TPM);
    if (virDomainUndefineFlags(dom.get(), flags) < 0) {
        const LibvirtFailure failure = take_libvirt_failure();
        return domain_error(failure, "undefine", dom, "check it with 'virsh dominfo " + domain_name(dom) + "'");
    }
    return ok();
}

Result<DomainState> domain_state(const Domain& dom)
{
    int state = VIR_DOMAIN_NOSTATE;
    int reason = 0;
    if (virDomainGetState(dom.get(), &state, &reason, 0) < 0) {
        const LibvirtFailure failure = take_libvirt_failure();
        return domain_error(failure, "read the state of", dom, "is libvirtd still running?");
    }
    switch (state) {
    case VIR_DOMAIN_RUNNING: return DomainState::Running;
    case VIR_DOMAIN_BLOCKED: return DomainState::Blocked;
    case VIR_DOMAIN_PAUSED: return DomainState::Paused;
    case VIR_DOMAIN_SHUTDOWN: return DomainState::ShuttingDown;
    case VIR_DOMAIN_SHUTOFF: return DomainState::ShutOff;
    case VIR_DOMAIN_CRASHED: return DomainState::Crashed;
    case VIR_DOMAIN_PMSUSPENDED: return DomainState::Suspended;
    default: return DomainState::NoState;
    }
}

Result<int> domain_snapshot_count(const Domain& dom)
{
    const int n = virDomainSnapshotNum(dom.get(), 0);
    if (n < 0) {
        const LibvirtFailure failure = take_libvirt_failure();
        return domain_error(failure, "count the snapshots of", dom, "is libvirtd still running?");
    }
    return n;
}

Result<std::string> domain_xml(const Domain& dom, DomainXmlKind kind)
{
    const unsigned int flags = kind == DomainXmlKind::Inactive ? VIR_DOMAIN_XML_INACTIVE : 0;
    const LibvirtString xml(virDomainGetXMLDesc(dom.get(), flags));
    if (!xml) {
        const LibvirtFailure failure = take_libvirt_failure();
        return domain_error(failure, "read the XML of", dom, "is libvirtd still running?");
    }
    return std::string(xml.get());
}

}  // namespace appshare
