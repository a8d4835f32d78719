#include "virt/capture_plan.hpp"

#include "base/size_units.hpp"
#include "base/text.hpp"
#include "xml/xml_document.hpp"

#include <charconv>

namespace appshare {
namespace {

Error cannot(std::string_view domain, const std::string& why)
{
    return make_error(ErrorCode::Usage, "domain " + std::string(domain) + " cannot be captured faithfully: " + why);
}

std::string text_of(const xmlNode* node) { return node == nullptr ? std::string() : std::string(trim(xml_text(node))); }

Result<void> read_disk(const xmlNode* devices, std::string_view domain, CapturePlan& plan)
{
    std::vector<const xmlNode*> writable;
    for (const xmlNode* disk : child_elements(devices, "disk")) {
        const std::string device = xml_attribute(disk, "device").value_or("disk");
        if (device == "cdrom" || device == "floppy") {
            plan.warnings.push_back("the " + device + " " + quoted_value(xml_attribute(first_child_element(disk, "target"), "dev").value_or("?")) +
                                    " of domain " + std::string(domain) + " is not part of the appliance.");
            continue;
        }
        if (first_child_element(disk, "readonly") != nullptr) {
            return cannot(domain, "it has a read-only disk besides its boot disk, which a bundle cannot carry; "
                                  "detach it (virsh detach-disk) and capture again.");
        }
        writable.push_back(disk);
    }
    if (writable.empty()) return cannot(domain, "it has no disk to capture; give it its boot disk and capture again.");
    if (writable.size() > 1) {
        return cannot(domain, "it has " + std::to_string(writable.size()) +
                                  " writable disks and an appliance has one; detach the others (virsh detach-disk) "
                                  "or merge them into the boot disk, and capture again.");
    }
    const xmlNode* disk = writable.front();
    const std::string type = xml_attribute(disk, "type").value_or("file");
    const auto file = xml_attribute(first_child_element(disk, "source"), "file");
    if (type != "file" || !file || file->empty()) {
        return make_error(ErrorCode::UnsafeImage, "domain " + std::string(domain) + "'s disk is of type " +
                                                      quoted_value(type) +
                                                      ", and capture reads only disks that are files; copy it into "
                                                      "a file (qemu-img convert) and pack that with 'appshare pack'.");
    }
    const auto format = xml_attribute(first_child_element(disk, "driver"), "type");
    if (!format || (*format != "qcow2" && *format != "raw")) {
        return make_error(ErrorCode::UnsafeImage,
                          "domain " + std::string(domain) + "'s disk " + *file +
                              (format ? " has the format " + quoted_value(*format) + ", which appshare cannot capture"
                                      : std::string(" records no format, so it would have to be guessed")) +
                              "; convert it to qcow2 with 'qemu-img convert -O qcow2', point the domain at it, and "
                              "capture again.");
    }
    const std::string bus = xml_attribute(first_child_element(disk, "target"), "bus").value_or("virtio");
    if (bus != "virtio") {
        plan.warnings.push_back("domain " + std::string(domain) + "'s disk is on the " + bus +
                                " bus; an appliance's disk is virtio, so the guest must find its root by label or UUID.");
    }
    plan.content.image = *file;
    plan.content.image_format = *format;
    return ok();
}

Result<void> read_os(const xmlNode* os, std::string_view domain, CapturePlan& plan)
{
    Manifest& m = plan.content.manifest;
    m.arch = xml_attribute(first_child_element(os, "type"), "arch").value_or("x86_64");
    if (xml_attribute(os, "firmware").value_or("") == "efi" || first_child_element(os, "loader") != nullptr) {
        return cannot(domain, "it boots through UEFI or a custom loader, and an appliance bundle boots BIOS or a "
                              "direct kernel only; use a BIOS domain or pack its kernel with 'appshare pack --kernel'.");
    }
    if (const xmlNode* kernel = first_child_element(os, "kernel"); kernel != nullptr) {
        plan.content.kernel = text_of(kernel);
        if (const xmlNode* initrd = first_child_element(os, "initrd"); initrd != nullptr) {
            plan.content.initrd = text_of(initrd);
        }
        if (const xmlNode* cmdline = first_child_element(os, "cmdline"); cmdline != nullptr) {
            m.cmdline = text_of(cmdline);
        }
    }
    return ok();
}

void read_devices(const xmlNode* devices, std::string_view domain, CapturePlan& plan)
{
    Manifest& m = plan.content.manifest;
    const auto interfaces = child_elements(devices, "interface");
    m.network = {"none", ""};
    if (!interfaces.empty()) {
        const xmlNode* nic = interfaces.front();
        const std::string type = xml_attribute(nic, "type").value_or("user");
        const auto network = xml_attribute(first_child_element(nic, "source"), "network");
        if (type == "network" && network && !network->empty()) {
            m.network = {"network", *network};
        } else {
            m.network = {"user", ""};
            if (type != "user") {
                plan.warnings.push_back("domain " + std::string(domain) + "'s network interface is of type " +
                                        quoted_value(type) + "; the appliance gets user-mode networking instead.");
            }
        }
        if (interfaces.size() > 1) {
            plan.warnings.push_back("domain " + std::string(domain) + " has " + std::to_string(interfaces.size()) +
                                    " network interfaces; the appliance keeps the first only.");
        }
    }
    const bool console = first_child_element(devices, "serial") != nullptr || first_child_element(devices, "console") != nullptr;
    m.console = console ? "serial" : "none";
}

}  // namespace

Result<CapturePlan> plan_capture(std::string_view domain_xml, std::string_view domain)
{
    auto doc = parse_xml(domain_xml, "the XML of domain " + std::string(domain));
    if (!doc) return std::move(doc).error();
    const xmlNode* root = doc->root();
    const xmlNode* devices = first_child_element(root, "devices");
    CapturePlan plan;
    for (const std::string_view passthrough : {"hostdev", "redirdev"}) {
        if (first_child_element(devices, passthrough) != nullptr) {
            return cannot(domain, "it passes a host device through (<" + std::string(passthrough) +
                                      ">), which another host or instance cannot have; detach it and capture again.");
        }
    }
    if (auto r = read_disk(devices, domain, plan); !r) return std::move(r).error();
    if (auto r = read_os(first_child_element(root, "os"), domain, plan); !r) return std::move(r).error();
    read_devices(devices, domain, plan);

    Manifest& m = plan.content.manifest;
    const xmlNode* memory = first_child_element(root, "memory");
    auto bytes = parse_size(text_of(memory), xml_attribute(memory, "unit").value_or("KiB"), "KiB",
                            "the XML of domain " + std::string(domain), "memory");
    if (!bytes) return std::move(bytes).error();
    m.memory_bytes = *bytes;
    const std::string vcpus = text_of(first_child_element(root, "vcpu"));
    m.vcpus = 1;
    if (!vcpus.empty()) {
        const auto [end, ec] = std::from_chars(vcpus.data(), vcpus.data() + vcpus.size(), m.vcpus);
        if (ec != std::errc{} || end != vcpus.data() + vcpus.size()) {
            return cannot(domain, "its vcpu count " + quoted_value(vcpus) + " is not a number; fix it with 'virsh edit'.");
        }
    }
    plan.title = text_of(first_child_element(root, "title"));
    m.description = text_of(first_child_element(root, "description"));
    if (m.description.empty()) m.description = plan.title.empty() ? "captured from libvirt domain " + std::string(domain) : plan.title;
    return plan;
}

}  // namespace appshare
