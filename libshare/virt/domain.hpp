// Owned libvirt domains and the few operations appshare needs on them: define, look up, list,
// destroy, undefine, state and XML (and start, for the tests). A thin typed layer over the
// libvirt C API: no appshare policy here. Every failure names the domain and says what to do;
// an operation on a domain that no longer exists fails with ErrorCode::NotFound.
#pragma once

#include "base/result.hpp"
#include "base/unique_handle.hpp"
#include "virt/connection.hpp"

#include <libvirt/libvirt.h>

#include <string>
#include <string_view>
#include <vector>

namespace appshare {

// Frees the domain handle (virDomainFree; the domain itself is untouched); move-only.
using Domain = UniqueHandle<virDomain, virDomainFree>;

enum class DomainState {
    NoState,      // VIR_DOMAIN_NOSTATE
    Running,      // VIR_DOMAIN_RUNNING
    Blocked,      // VIR_DOMAIN_BLOCKED
    Paused,       // VIR_DOMAIN_PAUSED
    ShuttingDown, // VIR_DOMAIN_SHUTDOWN
    ShutOff,      // VIR_DOMAIN_SHUTOFF
    Crashed,      // VIR_DOMAIN_CRASHED
    Suspended,    // VIR_DOMAIN_PMSUSPENDED
};

// The state as virsh prints it: "running", "shut off", ...
[[nodiscard]] std::string_view domain_state_name(DomainState state) noexcept;

enum class DomainListFilter { All, Active, Inactive };

// Which XML: the live one of a running domain (or the persistent one of a stopped domain), or
// the persistent definition whatever the state (VIR_DOMAIN_XML_INACTIVE).
enum class DomainXmlKind { Current, Inactive };

// Whether undefining also deletes the domain's UEFI NVRAM and TPM state files.
enum class FirmwareState { Remove, Keep };

// Defines (or redefines, same name and UUID) a persistent domain from XML. ErrorCode::Libvirt
// when libvirt's parser refuses it. As with `virsh define`, libvirtd does not also validate the
// XML against its RelaxNG schema (VIR_DOMAIN_DEFINE_VALIDATE compiles the schema at every call:
// about 10 ms of libvirtd's time per define); what appshare renders is held to that schema by
// tests/unit/instance/test_domain_xml.cpp.
[[nodiscard]] Result<Domain> define_domain(const Connection& conn, std::string_view xml);

// The domain called `name`. ErrorCode::NotFound if there is none, ErrorCode::Libvirt otherwise.
[[nodiscard]] Result<Domain> lookup_domain(const Connection& conn, std::string_view name);

// All domains matching the filter (virConnectListAllDomains), in libvirt's order.
[[nodiscard]] Result<std::vector<Domain>> list_domains(const Connection& conn,
                                                       DomainListFilter filter = DomainListFilter::All);

// The domain's name (never fails: libvirt keeps it in the handle).
[[nodiscard]] std::string domain_name(const Domain& dom);

// The domain's UUID as text (36 characters).
[[nodiscard]] Result<std::string> domain_uuid(const Domain& dom);

// Starts a defined, shut-off domain (virDomainCreate). The command never starts a domain (users
// do, with virsh or virt-manager); the integration tests do, to run the hook under a real
// libvirt, and a failed start is this layer's to describe (it names the domain's qemu log).
[[nodiscard]] Result<void> start_domain(const Domain& dom);

// Stops a running domain at once, like pulling the plug (virDomainDestroy).
[[nodiscard]] Result<void> destroy_domain(const Domain& dom);

// Removes the persistent definition, with libvirt's managed-save image and its snapshot and
// checkpoint metadata (disk images are left alone); NVRAM/TPM state as told. A running domain
// becomes transient and goes away when it stops.
[[nodiscard]] Result<void> undefine_domain(const Domain& dom, FirmwareState firmware = FirmwareState::Remove);

// The domain's state (virDomainGetState).
[[nodiscard]] Result<DomainState> domain_state(const Domain& dom);

// How many snapshots libvirt has of the domain (virDomainSnapshotNum).
[[nodiscard]] Result<int> domain_snapshot_count(const Domain& dom);

// The domain's XML description.
[[nodiscard]] Result<std::string> domain_xml(const Domain& dom, DomainXmlKind kind = DomainXmlKind::Current);

}  // namespace appshare
