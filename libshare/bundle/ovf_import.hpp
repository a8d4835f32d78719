// appshare import: a verified bundle from an OVF package — an .ova (a tar archive, read under
// the bundle rules of bundle/bundle.hpp: no '..', absolute names, links or devices, nothing
// extracted but the one disk) or an .ovf with its files beside it. The envelope is read as
// untrusted XML (bundle/ovf_envelope.hpp); the .mf digests (SHA-256 or SHA-1), when present,
// are checked for the envelope and the disk, the disk's while it is copied out. A VMDK (only a
// self-contained sparse one, streamOptimized included: never a descriptor naming other files)
// is converted to qcow2 by qemu-img with the vmdk driver fixed and no backing; qcow2 and raw
// disks go as they are. Then the one bundle writer (bundle/bundle_writer.hpp) makes the bundle.
#pragma once

#include "bundle/bundle_writer.hpp"
#include "base/result.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace appshare {

struct ImportRequest {
    std::filesystem::path package;      // FILE.ova or FILE.ovf
    std::filesystem::path output;       // new directory or FILE.tar[.gz|.xz]
    // Overrides of what the envelope says; the files and settings an OVF cannot carry for
    // appshare (direct kernel boot, cloud-init user-data, network, console) as `appshare pack` takes them.
    std::optional<std::string> name, version;
    BundleContent extra;                // only kernel, initrd, user_data and manifest.cmdline/network/console are read
    bool show_progress = false;
};

struct ImportResult {
    VerifiedBundle bundle;
    std::vector<std::string> warnings;  // parts of the package not imported, one sentence each
    bool disk_digest_checked = false;   // the package's .mf lists the disk, and it matched
};

// Errors: as parse_ovf_envelope; UnsafePath for a path trick in the archive or an href; DigestMismatch
// for a .mf digest that does not match; UnsafeImage for a VMDK that is not self-contained;
// Usage for a name that is no appliance name (give --name); and the bundle writer's errors.
[[nodiscard]] Result<ImportResult> import_ovf(const ImportRequest& request);

}  // namespace appshare
