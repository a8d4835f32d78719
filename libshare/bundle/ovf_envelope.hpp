// Reading an OVF envelope (DMTF DSP0243, 1.x and 2.x) as untrusted XML (xml/xml_document.hpp:
// no DTD, no network, 1 MiB at most): what an appliance bundle can carry of it — one virtual
// system's name, version, description, memory, CPUs and its one disk — and a sentence for each
// part it leaves out. Refused with a sentence: several virtual systems or disks, no disk, a
// disk format appshare cannot convert.
#pragma once

#include "base/result.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace appshare {

struct OvfAppliance {
    std::string name;         // VirtualSystem ovf:id (or <Name>), as written
    std::string version;      // ProductSection/Version; empty if none
    std::string description;  // ProductSection/Product, AnnotationSection/Annotation or Info
    std::uint64_t memory_bytes = 0;  // 0 if not given
    unsigned vcpus = 0;              // 0 if not given
    struct Disk {
        std::string href;    // References/File ovf:href: the file in the package
        std::string format;  // "vmdk" | "qcow2" | "raw"
    } disk;
    std::vector<std::string> warnings;  // one sentence each: parts not imported
};

// Parses `text`; `origin` names it in messages. Errors: BadManifest (not well-formed, DTD, not an
// OVF envelope, unknown units), Usage (what cannot be imported faithfully).
[[nodiscard]] Result<OvfAppliance> parse_ovf_envelope(std::string_view text, std::string_view origin);

// An OVF .mf line "SHA256(file)= hex" or "SHA1(file)= hex": which digest of which file.
struct OvfDigest {
    std::string algorithm;  // "SHA256" | "SHA1"
    std::string file;
    std::string hex;        // lowercase
};

// Parses an OVF package's .mf text. Errors: BadManifest naming the line that is not such a line.
[[nodiscard]] Result<std::vector<OvfDigest>> parse_ovf_digests(std::string_view text, std::string_view origin);

}  // namespace appshare
