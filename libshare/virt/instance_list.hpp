// appshare list: the appshare instances libvirt knows (domains carrying appshare metadata),
// what they run on, what their contexts cost, and the storage sharing saves.
#pragma once

#include "instance/config.hpp"
#include "base/result.hpp"
#include "instance/migrated_context.hpp"
#include "instance/storage_report.hpp"
#include "virt/connection.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace appshare {

struct InstanceInfo {
    std::string name;
    std::string uuid;
    std::string appliance;
    std::string version;
    std::string state;                 // as virsh says it: "running", "shut off", ...
    std::string base_sha256;
    std::uint64_t base_bytes = 0;
    std::filesystem::path base_path;   // the shared base
    std::filesystem::path context_dir;
    std::uint64_t context_bytes = 0;   // st_blocks × 512 of the context and all in it
    std::string mode;                  // "shared", "independent", "unknown" (no instance.json) or
                                       // kInvalidMetadata (context not the domain's own: not looked at)
    std::string mode_reason;           // why, when the state file says; for invalid metadata, what is wrong
    bool cloud_init_seed = false;      // the context holds a cloud-init seed (never shown: only that it has one)
};

struct InstanceListing {
    std::vector<InstanceInfo> instances;  // ordered by name
    StorageReport storage;
    std::vector<std::string> warnings;    // domains whose appshare metadata could not be read or is invalid
    std::vector<MigratedContext> migrated;  // contexts kept here at a migration away (not in the figures)
};

inline constexpr std::string_view kInvalidMetadata = "invalid metadata";

// Every domain with appshare metadata on `conn` (load_appshare_domain); others, and domains
// undefined while listing, are skipped silently. A domain whose metadata does not name its own
// context (AppshareDomain::context holds an error) is listed
// with mode kInvalidMetadata, context_bytes 0 and a warning, its directory never walked, and
// is left out of the storage figures.
[[nodiscard]] Result<InstanceListing> list_instances(const Connection& conn, const Config& config);

// A table of instances, one line per base, and the storage saved (ends in a newline).
[[nodiscard]] std::string instance_listing_text(const InstanceListing& listing);

// The same as JSON: {"instances": [...], "bases": [...], "storage": {...}, "migrated_contexts": [...],
// "warnings": [...]}.
[[nodiscard]] nlohmann::json instance_listing_json(const InstanceListing& listing);

}  // namespace appshare
