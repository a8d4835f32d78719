#include "bundle/ovf_envelope.hpp"

#include "base/text.hpp"
#include "xml/xml_document.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <regex>

namespace appshare {
namespace {

// An attribute by its local name, whatever its namespace prefix (ovf:href, vssd:...).
std::optional<std::string> attr(const xmlNode* node, std::string_view local)
{
    if (node == nullptr) return std::nullopt;
    for (const xmlAttr* a = node->properties; a != nullptr; a = a->next) {
        if (std::string_view(reinterpret_cast<const char*>(a->name)) == local) {
            return std::string(trim(xml_text(reinterpret_cast<const xmlNode*>(a))));
        }
    }
    return std::nullopt;
}

std::string text_of(const xmlNode* node) { return node == nullptr ? std::string() : std::string(trim(xml_text(node))); }

std::string lower(std::string s)
{
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

Error bad(std::string_view origin, const std::string& what)
{
    return make_error(ErrorCode::BadManifest, std::string(origin) + ": " + what);
}

Error cannot(std::string_view origin, const std::string& what)
{
    return make_error(ErrorCode::Usage, std::string(origin) + " cannot be imported faithfully: " + what);
}

std::optional<std::uint64_t> number(const std::string& s)
{
    std::uint64_t v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
    return v;
}

// "byte * 2^20", "MegaBytes", "MB", "byte"... as a multiplier.
std::optional<std::uint64_t> allocation_unit(const std::string& units)
{
    const std::string u = lower(units);
    if (u.empty() || u.find("2^20") != std::string::npos || u.find("mega") != std::string::npos || u == "mb") {
        return std::uint64_t{1} << 20;
    }
    if (u.find("2^30") != std::string::npos || u.find("giga") != std::string::npos || u == "gb") return std::uint64_t{1} << 30;
    if (u.find("2^10") != std::string::npos || u.find("kilo") != std::string::npos || u == "kb") return std::uint64_t{1} << 10;
    if (u == "byte" || u == "bytes") return 1;
    return std::nullopt;
}

std::optional<std::string> disk_format(const std::string& uri)
{
    const std::string u = lower(uri);
    if (u.find("vmdk") != std::string::npos) return std::string("vmdk");
    if (u.find("qcow") != std::string::npos) return std::string("qcow2");
    if (u.find("raw") != std::string::npos) return std::string("raw");
    return std::nullopt;
}

Result<void> read_hardware(const xmlNode* system, std::string_view origin, OvfAppliance& a,
                           std::vector<std::string>& disk_refs)
{
    const xmlNode* hw = first_child_element(system, "VirtualHardwareSection");
    if (hw == nullptr) return bad(origin, "the virtual system has no VirtualHardwareSection; this is not a usable OVF");
    for (const xmlNode* item : child_elements(hw)) {
        const auto name = xml_name(item);
        if (name != "Item" && name != "StorageItem" && name != "EthernetPortItem") continue;
        const auto type = number(text_of(first_child_element(item, "ResourceType")));
        if (!type) continue;
        const std::string quantity = text_of(first_child_element(item, "VirtualQuantity"));
        switch (*type) {
        case 3: {  // processor
            const auto n = number(quantity);
            if (!n || *n == 0 || *n > 4096) return bad(origin, "the CPU count " + quoted_value(quantity) + " is not a number from 1 to 4096");
            a.vcpus = static_cast<unsigned>(*n);
            break;
        }
        case 4: {  // memory
            const auto n = number(quantity);
            const std::string units = text_of(first_child_element(item, "AllocationUnits"));
            const auto unit = allocation_unit(units);
            if (!n || !unit) {
                return bad(origin, "the memory " + quoted_value(quantity) + " " + quoted_value(units) +
                                       " is not a size appshare understands; use AllocationUnits byte * 2^20");
            }
            if (*n > (std::uint64_t{1} << 50) / *unit) return bad(origin, "the memory size is too large");
            a.memory_bytes = *n * *unit;
            break;
        }
        case 17:  // disk drive
            disk_refs.push_back(text_of(first_child_element(item, "HostResource")));
            break;
        case 10:  // ethernet adapter
            a.warnings.push_back(std::string(origin) + ": network adapter " + quoted_value(text_of(first_child_element(item, "ElementName"))) +
                                 " is not imported; the appliance gets appshare's network (user-mode by default).");
            break;
        case 15:
        case 16:
            a.warnings.push_back(std::string(origin) + ": a CD or floppy drive is not imported.");
            break;
        default: break;
        }
    }
    return ok();
}

}  // namespace

Result<OvfAppliance> parse_ovf_envelope(std::string_view text, std::string_view origin)
{
    auto doc = parse_xml(text, origin);
    if (!doc) return std::move(doc).error();
    const xmlNode* root = doc->root();
    if (xml_name(root) != "Envelope") {
        return bad(origin, "the root element is <" + std::string(xml_name(root)) + ">, not an OVF <Envelope>");
    }
    OvfAppliance a;
    if (first_child_element(root, "VirtualSystemCollection") != nullptr || child_elements(root, "VirtualSystem").size() != 1) {
        return cannot(origin, "it does not hold exactly one VirtualSystem, and a bundle is one appliance; "
                              "export each virtual machine as its own OVA");
    }
    const xmlNode* system = first_child_element(root, "VirtualSystem");
    a.name = attr(system, "id").value_or("");
    if (a.name.empty()) a.name = text_of(first_child_element(system, "Name"));
    const xmlNode* product = first_child_element(system, "ProductSection");
    a.version = text_of(first_child_element(product, "Version"));
    a.description = text_of(first_child_element(product, "Product"));
    if (a.description.empty()) a.description = text_of(first_child_element(first_child_element(system, "AnnotationSection"), "Annotation"));
    if (a.description.empty()) a.description = text_of(first_child_element(system, "Info"));
    if (!child_elements(product, "Property").empty()) {
        a.warnings.push_back(std::string(origin) + ": the product properties (ProductSection/Property) are not imported; "
                                                   "give such settings as cloud-init user-data instead.");
    }
    if (first_child_element(system, "EulaSection") != nullptr) {
        a.warnings.push_back(std::string(origin) + ": the licence agreement (EulaSection) is not carried into the bundle; read it before use.");
    }

    std::vector<std::string> disk_refs;
    if (auto r = read_hardware(system, origin, a, disk_refs); !r) return std::move(r).error();
    const auto disks = child_elements(first_child_element(root, "DiskSection"), "Disk");
    if (disk_refs.size() > 1 || disks.size() > 1) {
        return cannot(origin, "it has " + std::to_string(std::max(disk_refs.size(), disks.size())) +
                                  " disks and an appliance has one; merge them into the boot disk and export again");
    }
    if (disks.empty()) return cannot(origin, "it has no disk (DiskSection/Disk) to make the base of");
    const xmlNode* disk = disks.front();
    const std::string file_ref = attr(disk, "fileRef").value_or("");
    const std::string format_uri = attr(disk, "format").value_or("");
    const auto format = disk_format(format_uri);
    if (!format) {
        return cannot(origin, "its disk format " + quoted_value(format_uri) +
                                  " is not one appshare converts (VMDK, qcow2, raw); convert the disk with qemu-img first");
    }
    a.disk.format = *format;
    for (const xmlNode* file : child_elements(first_child_element(root, "References"), "File")) {
        if (attr(file, "id").value_or("") != file_ref) continue;
        if (attr(file, "compression")) {
            return cannot(origin, "its disk file is compressed (ovf:compression), which appshare does not read; "
                                  "export it uncompressed");
        }
        if (attr(file, "chunkSize")) return cannot(origin, "its disk file is split into chunks (ovf:chunkSize); export it whole");
        a.disk.href = attr(file, "href").value_or("");
    }
    if (a.disk.href.empty()) {
        return bad(origin, "the disk's file reference " + quoted_value(file_ref) + " names no References/File with an href");
    }
    return a;
}

Result<std::vector<OvfDigest>> parse_ovf_digests(std::string_view text, std::string_view origin)
{
    static const std::regex line_re(R"(^\s*(SHA256|SHA1)\s*\(([^()]+)\)\s*=\s*([0-9A-Fa-f]+)\s*$)");
    std::vector<OvfDigest> out;
    std::size_t number = 0;
    std::size_t start = 0;
    while (start <= text.size()) {
        const auto end = std::min(text.find('\n', start), text.size());
        const std::string line(text.substr(start, end - start));
        start = end + 1;
        ++number;
        if (trim(line).empty()) {
            if (end == text.size()) break;
            continue;
        }
        std::smatch m;
        if (line.size() > 4096 || !std::regex_match(line, m, line_re) || m[3].length() != (m[1] == "SHA1" ? 40 : 64)) {
            return bad(origin, "line " + std::to_string(number) + " " + quoted_value(line) +
                                   " is not \"SHA256(file)= digest\" or \"SHA1(file)= digest\"");
        }
        out.push_back({m[1].str(), m[2].str(), lower(m[3].str())});
        if (end == text.size()) break;
    }
    return out;
}

}  // namespace appshare
