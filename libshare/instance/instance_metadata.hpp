// The appshare <metadata> element of a domain: what appliance it is, which shared base and
// boot files it runs on, where they can be re-loaded from, and where its context lives.
// install writes it into the domain XML; the hook reads it from the XML libvirt passes on
// stdin (untrusted: it checks every path against the configured roots before using it).
//
//   <metadata>
//     <appshare:instance xmlns:appshare="urn:appshare:domain:1" format="1">
//       <appshare:appliance name="demo" version="1.0"/>
//       <appshare:base sha256="…" format="qcow2" size="…" path="/…/shared/<sha>.qcow2"/>
//       <appshare:kernel sha256="…" size="…" path="/…/shared/<sha>.kernel" link="/…/contexts/NAME/vmlinuz"/>
//       <appshare:initrd …/>
//       <appshare:source-file path="/srv/appliances/demo.qcow2"/>
//       <appshare:source-url href="http://…/demo.qcow2"/>
//       <appshare:context dir="/…/contexts/NAME" overlay="/…/contexts/NAME/disk.qcow2" size="…"/>
//       <appshare:tool version="0.1.0" installed="2026-11-25T10:00:00Z"/>
//     </appshare:instance>
//   </metadata>
#pragma once

#include "base/result.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <libxml/tree.h>

namespace appshare {

inline constexpr std::string_view kMetadataNamespace = "urn:appshare:domain:1";
inline constexpr std::string_view kMetadataPrefix = "appshare";
inline constexpr std::string_view kMetadataElement = "instance";

// A file published in the content-addressed store, as the instance uses it.
struct StoredFile {
    std::string sha256;
    std::uint64_t size = 0;
    std::string format;               // base only: "qcow2" / "raw"
    std::filesystem::path path;       // its path in the shared store
    std::filesystem::path link;       // boot files: the per-instance link the domain XML names
};

struct InstanceMetadata {
    std::string appliance_name;
    std::string appliance_version;
    StoredFile base;
    std::optional<StoredFile> kernel;
    std::optional<StoredFile> initrd;
    std::vector<std::string> source_files;
    std::vector<std::string> source_urls;
    std::filesystem::path context_dir;
    std::filesystem::path overlay;
    // The overlay's virtual size as installed (size=, optional): what an overlay the hook makes
    // (a first start, the destination of a live migration) must have; 0 when not recorded.
    std::uint64_t overlay_size = 0;
    std::string tool_version;
    std::string installed_at;
};

// Adds <appshare:instance> (with its namespace declaration) as the last child of `parent`.
void append_instance_metadata(xmlNode* parent, const InstanceMetadata& meta);

// The <appshare:instance> element alone, as text (for virDomainSetMetadata).
[[nodiscard]] std::string instance_metadata_xml(const InstanceMetadata& meta);

// Reads the appshare metadata from a full domain XML document (what libvirt passes a hook on
// stdin, or virDomainGetXMLDesc). nullopt: the domain has no appshare metadata (not ours).
// An error: the metadata is there but malformed (ErrorCode::BadManifest, naming `origin`).
[[nodiscard]] Result<std::optional<InstanceMetadata>> read_instance_metadata(std::string_view domain_xml,
                                                                             std::string_view origin);

}  // namespace appshare
