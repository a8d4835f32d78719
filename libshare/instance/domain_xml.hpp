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
    std::string title;        // what virt-manager shows: "<appliance> <version>"
    std::string description;
    std::uint64_t memory_bytes = 0;
    unsigned vcpus = 1;
    std::string arch = "x86_64";
    std::string virt_type = "qemu";  // "kvm" or "qemu" (TCG)
    std::filesystem::path disk;      // the context overlay
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

// A new random (version 4) UUID, lowercase.
[[nodiscard]] std::string random_uuid();

// The domain XML for `spec`, from `template_file` (normally template_dir()/"domain.xml").
[[nodiscard]] Result<std::string> render_domain_xml(const DomainSpec& spec, const std::filesystem::path& template_file);

}  // namespace appshare
