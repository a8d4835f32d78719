#include "instance/domain_xml.hpp"

#include "base/host_identity.hpp"
#include "base/text.hpp"
#include "xml/xml_document.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>

#include <sys/random.h>

namespace appshare {
namespace {

Error template_error(const std::filesystem::path& t, const std::string& what)
{
    return make_error(ErrorCode::Config, "domain template " + t.string() + " " + what +
                                             "; restore it from the appshare package (xml-templates/domain.xml).");
}

// Replaces the text content of `node` (escaped by libxml2).
void set_text(xmlNode* node, const std::string& text)
{
    xmlNodeSetContent(node, nullptr);
    xmlNodeAddContent(node, xml_chars(text));  // AddContent escapes; SetContent would parse entities
}

void remove_node(xmlNode* node)
{
    xmlUnlinkNode(node);
    xmlFreeNode(node);
}

// Fills the template's <backingStore> with the backing file and its format.
Result<void> fill_backing_store(xmlNode* backing, const std::filesystem::path& file, std::string_view format,
                                const std::filesystem::path& template_file)
{
    xmlNode* format_node = first_child_element(backing, "format");
    xmlNode* source = first_child_element(backing, "source");
    if (format_node == nullptr || source == nullptr) {
        return template_error(template_file, "lacks <format> or <source> in devices/disk/backingStore");
    }
    xmlSetProp(format_node, xml_chars("type"), xml_chars(std::string(format)));
    xmlSetProp(source, xml_chars("file"), xml_chars(file.string()));
    return ok();
}

// The <disk> whose source file is `overlay`, or nullptr.
xmlNode* disk_of(const XmlDocument& doc, const std::filesystem::path& overlay)
{
    for (xmlNode* disk : child_elements(first_child_element(doc.root(), "devices"), "disk")) {
        if (xml_attribute(first_child_element(disk, "source"), "file") == overlay.string()) return disk;
    }
    return nullptr;
}

// Whether `disk`'s backing chain is exactly `link` with relabel='no' for the DAC driver, and
// nothing below it.
bool chain_is(const xmlNode* disk, const std::filesystem::path& link)
{
    const auto chain = child_elements(disk, "backingStore");
    if (chain.size() != 1) return false;
    const xmlNode* source = first_child_element(chain[0], "source");
    if (xml_attribute(source, "file") != link.string()) return false;
    bool unlabelled = false;
    for (const xmlNode* label : child_elements(source, "seclabel")) {
        unlabelled = unlabelled || (xml_attribute(label, "model") == "dac" && xml_attribute(label, "relabel") == "no");
    }
    const auto below = child_elements(chain[0], "backingStore");
    return unlabelled && below.size() == 1 && first_child_element(below[0], "source") == nullptr;
}

xmlNode* smbios_entry(xmlNode* system, std::string_view name)
{
    for (xmlNode* e : child_elements(system, "entry")) {
        if (xml_attribute(e, "name") == name) return e;
    }
    return nullptr;
}

}  // namespace

std::string nocloud_serial(std::string_view hostname, std::string_view instance_id)
{
    return "ds=nocloud;h=" + std::string(hostname) + ";i=" + std::string(instance_id);
}

std::string instance_title(std::string_view instance, std::string_view appliance, std::string_view version)
{
    return std::string(instance) + " \u2014 " + std::string(appliance) + " " + std::string(version);
}

std::string instance_description(std::string_view appliance_description, std::string_view instance,
                                 std::string_view appliance, std::string_view version,
                                 const std::filesystem::path& context_dir, std::string_view base_sha256)
{
    std::string s(trim(appliance_description));
    if (!s.empty()) s += "\n\n";
    s += "appshare instance " + std::string(instance) + " of " + std::string(appliance) + " " + std::string(version) +
         "; its context is " + context_dir.string() + ", over the shared base " +
         std::string(base_sha256.substr(0, 12)) + "; see 'appshare list'.";
    return s;
}

std::string random_uuid()
{
    std::array<unsigned char, 16> b{};
    std::size_t got = 0;
    while (got < b.size()) {
        const ssize_t n = getrandom(b.data() + got, b.size() - got, 0);
        if (n > 0) got += static_cast<std::size_t>(n);
    }
    b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
    b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
    std::array<char, 37> s{};
    std::snprintf(s.data(), s.size(), "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                  b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
    return s.data();
}

Result<std::string> render_domain_xml(const DomainSpec& spec, const std::filesystem::path& template_file)
{
    auto doc = parse_xml_file(template_file, ErrorCode::Config);
    if (!doc) return std::move(doc).error();
    xmlNode* dom = doc->root();
    if (xml_name(dom) != "domain") return template_error(template_file, "has no <domain> root element");

    const auto need = [&](xmlNode* parent, const char* name) -> xmlNode* {
        return parent == nullptr ? nullptr : first_child_element(parent, name);
    };
    xmlNode* name = need(dom, "name");
    xmlNode* uuid = need(dom, "uuid");
    xmlNode* title = need(dom, "title");
    xmlNode* description = need(dom, "description");
    xmlNode* metadata = need(dom, "metadata");
    xmlNode* memory = need(dom, "memory");
    xmlNode* current = need(dom, "currentMemory");
    xmlNode* vcpu = need(dom, "vcpu");
    xmlNode* system = need(need(dom, "sysinfo"), "system");
    xmlNode* os = need(dom, "os");
    xmlNode* os_type = need(os, "type");
    xmlNode* devices = need(dom, "devices");
    xmlNode* disk = need(devices, "disk");
    xmlNode* disk_source = need(disk, "source");
    for (auto [node, what] : {std::pair{name, "name"}, {uuid, "uuid"}, {title, "title"}, {description, "description"},
                              {metadata, "metadata"}, {memory, "memory"}, {vcpu, "vcpu"}, {system, "sysinfo/system"},
                              {os_type, "os/type"}, {devices, "devices"}, {disk_source, "devices/disk/source"}}) {
        if (node == nullptr) return template_error(template_file, std::string("lacks <") + what + ">");
    }

    xmlSetProp(dom, xml_chars("type"), xml_chars(spec.virt_type));
    set_text(name, spec.name);
    set_text(uuid, spec.uuid);
    set_text(title, spec.title);
    set_text(description, spec.description);
    append_instance_metadata(metadata, spec.metadata);
    const std::string kib = std::to_string(spec.memory_bytes / 1024);
    set_text(memory, kib);
    xmlSetProp(memory, xml_chars("unit"), xml_chars("KiB"));
    if (current != nullptr) {
        set_text(current, kib);
        xmlSetProp(current, xml_chars("unit"), xml_chars("KiB"));
    }
    set_text(vcpu, std::to_string(spec.vcpus));

    if (xmlNode* e = smbios_entry(system, "serial")) set_text(e, spec.smbios_serial);
    if (xmlNode* e = smbios_entry(system, "product")) set_text(e, spec.product);
    if (xmlNode* e = smbios_entry(system, "version")) set_text(e, spec.product_version);

    xmlSetProp(os_type, xml_chars("arch"), xml_chars(spec.arch));
    if (spec.kernel) {
        xmlNewTextChild(os, nullptr, xml_chars("kernel"), xml_chars(spec.kernel->string()));
        if (spec.initrd) xmlNewTextChild(os, nullptr, xml_chars("initrd"), xml_chars(spec.initrd->string()));
        if (spec.cmdline) xmlNewTextChild(os, nullptr, xml_chars("cmdline"), xml_chars(*spec.cmdline));
    } else {
        xmlNode* boot = xmlNewChild(os, nullptr, xml_chars("boot"), nullptr);
        xmlSetProp(boot, xml_chars("dev"), xml_chars("hd"));
    }

    xmlSetProp(disk_source, xml_chars("file"), xml_chars(spec.disk.string()));
    if (xmlNode* backing = first_child_element(disk, "backingStore")) {
        if (spec.backing.empty()) {
            remove_node(backing);
        } else if (auto f = fill_backing_store(backing, spec.backing, spec.backing_format, template_file); !f) {
            return std::move(f).error();
        }
    }

    // The cloud-init seed: the template's CD-ROM, filled in or removed.
    for (xmlNode* cd : child_elements(devices, "disk")) {
        if (xml_attribute(cd, "device") != "cdrom") continue;
        xmlNode* src = first_child_element(cd, "source");
        if (!spec.seed_iso || src == nullptr) {
            remove_node(cd);
        } else {
            xmlSetProp(src, xml_chars("file"), xml_chars(spec.seed_iso->string()));
        }
    }
    if (spec.seed_iso && disk_of(*doc, *spec.seed_iso) == nullptr) {
        return template_error(template_file, "lacks the CD-ROM <disk device='cdrom'> with a <source> for the cloud-init seed");
    }

    // Network and console: the template holds the default devices; drop or adjust them.
    for (xmlNode* iface : child_elements(devices, "interface")) {
        if (spec.network_type == "none") {
            remove_node(iface);
        } else if (spec.network_type == "network") {
            xmlSetProp(iface, xml_chars("type"), xml_chars("network"));
            xmlNode* src = first_child_element(iface, "source");
            if (src == nullptr) src = xmlNewChild(iface, nullptr, xml_chars("source"), nullptr);
            xmlSetProp(src, xml_chars("network"), xml_chars(spec.network_name));
        }
    }
    for (xmlNode* serial : child_elements(devices, "serial")) {
        if (xmlNode* log = first_child_element(serial, "log")) {
            if (spec.serial_log.empty()) {
                remove_node(log);
            } else {
                xmlSetProp(log, xml_chars("file"), xml_chars(spec.serial_log.string()));
            }
        }
    }
    if (spec.console == "none") {
        for (xmlNode* n : child_elements(devices, "serial")) remove_node(n);
        for (xmlNode* n : child_elements(devices, "console")) remove_node(n);
    }
    return serialize_xml(*doc);
}

bool backing_chain_spelled_out(std::string_view domain_xml, const std::filesystem::path& overlay,
                               const std::filesystem::path& link)
{
    auto doc = parse_xml(domain_xml, "the domain XML");
    if (!doc) return false;
    const xmlNode* disk = disk_of(*doc, overlay);
    return disk != nullptr && chain_is(disk, link);
}

std::optional<std::string> disk_target_of(std::string_view domain_xml, const std::filesystem::path& file)
{
    auto doc = parse_xml(domain_xml, "the domain XML");
    if (!doc) return std::nullopt;
    const xmlNode* disk = disk_of(*doc, file);
    if (disk == nullptr) return std::nullopt;
    return xml_attribute(first_child_element(disk, "target"), "dev");
}

std::string domain_uuid_of(std::string_view domain_xml)
{
    auto doc = parse_xml(domain_xml, "the domain XML");
    if (!doc) return {};
    const xmlNode* node = first_child_element(doc->root(), "uuid");
    if (node == nullptr) return {};
    std::string uuid(trim(xml_text(node)));
    std::transform(uuid.begin(), uuid.end(), uuid.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return is_domain_uuid(uuid) ? uuid : std::string();
}

Result<std::optional<std::string>> spell_out_backing_chain(std::string_view domain_xml, const std::filesystem::path& overlay,
                                                          const std::filesystem::path& link, std::string_view format,
                                                          const std::filesystem::path& template_file)
{
    auto doc = parse_xml(domain_xml, "the domain's definition");
    if (!doc) return std::move(doc).error();
    xmlNode* disk = disk_of(*doc, overlay);
    if (disk == nullptr) {
        return make_error(ErrorCode::BadManifest, "the domain's definition has no disk on its overlay " + overlay.string() +
                                                      "; reinstall the instance.");
    }
    if (chain_is(disk, link)) return std::optional<std::string>{};
    auto tmpl = parse_xml_file(template_file, ErrorCode::Config);
    if (!tmpl) return std::move(tmpl).error();
    xmlNode* wanted = first_child_element(first_child_element(first_child_element(tmpl->root(), "devices"), "disk"), "backingStore");
    if (wanted == nullptr) return template_error(template_file, "lacks devices/disk/backingStore");
    if (auto f = fill_backing_store(wanted, link, format, template_file); !f) return std::move(f).error();
    for (xmlNode* old : child_elements(disk, "backingStore")) remove_node(old);
    xmlNode* copy = xmlDocCopyNode(wanted, doc->get(), 1);
    if (copy == nullptr) return make_error(ErrorCode::Internal, "out of memory while rewriting a domain definition.");
    xmlAddNextSibling(first_child_element(disk, "source"), copy);
    return std::optional<std::string>{serialize_xml(*doc)};
}

}  // namespace appshare
