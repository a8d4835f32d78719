// What `appshare capture` takes from a stopped domain's XML: the one disk to flatten into the
// base, and the memory, vCPUs, architecture, direct-boot settings, network and console for the
// manifest. Refuses, with one sentence each, what an appliance bundle cannot carry faithfully:
// several writable disks, a disk that is not a file or whose format is not recorded, host
// device pass-through, UEFI or custom firmware. What it leaves out on purpose (CD-ROMs, extra
// network interfaces) is listed in `warnings`, never dropped silently.
#pragma once

#include "bundle/bundle_writer.hpp"
#include "base/result.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace appshare {

struct CapturePlan {
    BundleContent content;              // image, format, manifest fields (name/version not set)
    std::string title;                  // the domain's <title>, if any
    std::vector<std::string> warnings;  // one sentence each
};

// Reads the inactive XML of domain `domain` (the name, for messages). Errors: UnsafeImage for a
// disk that cannot be captured (not a file, format not recorded or not qcow2/raw), Usage for what
// cannot be captured faithfully, BadManifest when the XML itself cannot be read.
[[nodiscard]] Result<CapturePlan> plan_capture(std::string_view domain_xml, std::string_view domain);

}  // namespace appshare
