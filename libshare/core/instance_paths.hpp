// The files of one appshare instance, derived from its (untrusted) domain metadata and checked
// against the host's configuration: the base and boot files must be exactly where the shared
// store keeps them for their digests, the context directory must be a direct child of the
// context root, and the overlay, boot links and state file must be direct children of the
// context directory; nothing may go through a symbolic link.
#pragma once

#include "core/blob_store.hpp"
#include "core/config.hpp"
#include "core/instance_metadata.hpp"
#include "core/result.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace appshare {

// A kernel or initrd: its spec in the stores and the per-instance link the domain XML names.
struct BootFile {
    BlobSpec spec;
    std::filesystem::path link;
};

struct InstancePaths {
    std::string domain;
    BlobSpec base;
    std::optional<BootFile> kernel;
    std::optional<BootFile> initrd;
    std::filesystem::path context_dir;
    std::filesystem::path overlay;
    std::filesystem::path lock_file;  // <context_dir>/.instance.lock, held while the context changes
    std::vector<std::string> source_files;  // as named in the metadata (checked when used)
    std::vector<std::string> source_urls;

    // The boot files that exist, in order kernel, initrd.
    [[nodiscard]] std::vector<const BootFile*> boot_files() const;
};

// Derives and checks the instance's paths. Errors: UnsafePath naming the offending field and
// path; Io when a path cannot be inspected.
[[nodiscard]] Result<InstancePaths> trusted_instance_paths(const Config& config, std::string_view domain,
                                                           const InstanceMetadata& meta);

}  // namespace appshare
