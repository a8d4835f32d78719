// The files of one appshare instance, derived from its (untrusted) domain metadata and checked
// against the host's configuration. The context is never taken from the metadata: it is
// context_layout(context_root, <the domain's own name>) (instance/context.hpp), and metadata naming
// any other context directory, overlay or boot link is refused, so one domain's metadata can
// never reach another instance's files (a `virsh dumpxml` clone keeps its original's metadata).
// The base and boot files must be exactly where the shared store keeps them for their digests,
// with their sizes given; nothing may go through a symbolic link.
#pragma once

#include "store/blob_store.hpp"
#include "instance/config.hpp"
#include "instance/context.hpp"
#include "instance/instance_metadata.hpp"
#include "base/result.hpp"

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
    ContextLayout context;
    std::uint64_t overlay_size = 0;         // the overlay's size as installed; 0: the base's
    std::vector<std::string> source_files;  // as named in the metadata (checked when used)
    std::vector<std::string> source_urls;

    // The boot files that exist, in order kernel, initrd.
    [[nodiscard]] std::vector<const BootFile*> boot_files() const;
};

// The context of domain `domain`: context_layout(config.context_root, domain), after checking
// that the domain's name can name a directory (check_instance_name), that the metadata's
// context directory, overlay and kernel/initrd links are exactly that layout's, and that the
// context directory is not (and does not go through) a symbolic link. The one check the hook,
// reshare, uninstall and list use before touching a context. Errors: UnsafePath naming the
// field, the path the metadata gives and the one expected; Io when a path cannot be inspected.
[[nodiscard]] Result<ContextLayout> trusted_context_layout(const Config& config, std::string_view domain,
                                                           const InstanceMetadata& meta);

// Derives and checks the instance's paths: the context from trusted_context_layout, the base
// and boot files at the shared store's paths for their digests. Every spec has its size (the
// metadata must give base, kernel and initrd sizes > 0: BadManifest otherwise), so a load never
// copies more than that. Errors: UnsafePath naming the offending field and path; BadManifest;
// Io when a path cannot be inspected.
[[nodiscard]] Result<InstancePaths> trusted_instance_paths(const Config& config, std::string_view domain,
                                                           const InstanceMetadata& meta);

// What the instance's context must point at to run on `store`'s copy of its base, switching only
// from `other`'s copy of the same base, with its boot links on the host-local store `local`'s
// copies whatever the mode: libvirt's DAC driver chowns <kernel> and <initrd> to QEMU's user for
// as long as the domain runs (there is no relabel='no' for them), so they never resolve to a
// file other hosts share.
[[nodiscard]] ContextTarget context_target(const InstancePaths& paths, const BlobStore& store, const BlobStore& other,
                                           const BlobStore& local);

}  // namespace appshare
