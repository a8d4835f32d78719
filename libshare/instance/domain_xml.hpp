// Renders an appshare domain's XML by filling the parsed template xml-templates/domain.xml with
// libxml2 (which escapes every value), never by string concatenation.
#pragma once

#include "instance/instance_metadata.hpp"
#include "base/result.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace appshare {

struct DomainSpec {
    std::string name;
    std::string uuid;
    std::string title;        // what virt-manager lists: instance_title()
    std::string description;
    std::uint64_t memory_bytes = 0;
    unsigned vcpus = 1;
    std::string arch = "x86_64";
    std::string virt_type = "qemu";  // "kvm" or "qemu" (TCG)
    std::filesystem::path disk;      // the context overlay
    std::filesystem::path backing;   // its backing file: the context's base link (empty: none)
    std::string backing_format = "qcow2";
    std::optional<std::filesystem::path> seed_iso;  // the cloud-init seed, a read-only CD-ROM (none: no such disk)
    std::optional<std::filesystem::path> kernel;
    std::optional<std::filesystem::path> initrd;
    std::optional<std::string> cmdline;
    std::string smbios_serial;       // NoCloud: "ds=nocloud;h=<hostname>;i=<instance-id>"
    std::string product;             // SMBIOS product: the appliance name
    std::string product_version;
    std::string network_type = "user";  // user | network | none
    std::string network_name;           // for type network
    std::string console = "serial";     // serial | none
    std::filesystem::path serial_log;   // where virtlogd keeps the serial console's output (empty: none)
    InstanceMetadata metadata;
};

// The NoCloud SMBIOS serial for an instance (hostname and instance-id as cloud-init reads them).
[[nodiscard]] std::string nocloud_serial(std::string_view hostname, std::string_view instance_id);

// The title virt-manager lists a domain by (`virsh desc --title`): led by the instance's name, so
// instances of one appliance differ at a glance, then the appliance and its version:
// "web1 — vm-app 1.0".
[[nodiscard]] std::string instance_title(std::string_view instance, std::string_view appliance,
                                         std::string_view version);

// The description virt-manager shows in a domain's details: the appliance's own description,
// then a line saying what appshare made of it: "appshare instance web1 of vm-app 1.0; its context
// is <dir>, over the shared base <sha256 prefix>; see 'appshare list'."
[[nodiscard]] std::string instance_description(std::string_view appliance_description, std::string_view instance,
                                               std::string_view appliance, std::string_view version,
                                               const std::filesystem::path& context_dir, std::string_view base_sha256);

// A new random (version 4) UUID, lowercase.
[[nodiscard]] std::string random_uuid();

// The domain XML for `spec`, from `template_file` (normally template_dir()/"domain.xml"). The
// disk's <backingStore> (in the template: the link's path and format are filled in, its
// seclabel relabel='no' kept) names spec.backing; without a backing it is removed.
[[nodiscard]] Result<std::string> render_domain_xml(const DomainSpec& spec, const std::filesystem::path& template_file);

// Whether the disk on `overlay` in `domain_xml` has the backing chain install writes: `link`
// with relabel='no' for libvirt's DAC driver, and nothing below it. Domains an older appshare
// defined have none: libvirt then probes the overlay's header and chowns the base it finds.
[[nodiscard]] bool backing_chain_spelled_out(std::string_view domain_xml, const std::filesystem::path& overlay,
                                             const std::filesystem::path& link);

// The target (`dev`, such as "hdc") of the disk whose source file is `file` in `domain_xml`;
// nullopt when there is no such disk or the XML cannot be read.
[[nodiscard]] std::optional<std::string> disk_target_of(std::string_view domain_xml, const std::filesystem::path& file);

// The domain's <uuid> in `domain_xml`, lowercase; empty when the XML cannot be read or has no
// well-formed one.
[[nodiscard]] std::string domain_uuid_of(std::string_view domain_xml);

// `domain_xml` (a domain's persistent definition) with the disk on `overlay` given the backing
// chain from `template_file` (link, format, relabel='no'), replacing any other; nullopt when it
// already has it. Errors: BadManifest when the XML cannot be read or has no disk on `overlay`;
// Config for a broken template.
[[nodiscard]] Result<std::optional<std::string>> spell_out_backing_chain(std::string_view domain_xml,
                                                                        const std::filesystem::path& overlay,
                                                                        const std::filesystem::path& link,
                                                                        std::string_view format,
                                                                        const std::filesystem::path& template_file);

}  // namespace appshare
