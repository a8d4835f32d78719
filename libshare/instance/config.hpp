// appshare's host configuration: where shared bases, contexts and host-local copies live,
// how long to wait for a lock, which libvirt to talk to, and which remote sources the hook
// may load from.
//
// File format (libvirt's own conf style): one `key = value` per line, `#` comments,
// strings in double quotes, integers bare, lists as ["a", "b"]. Unknown keys are errors.
//
//   shared_root = "/var/lib/libvirt/images/appshare/shared"
//   context_root = "/var/lib/libvirt/images/appshare/contexts"
//   local_root = "/var/lib/libvirt/images/appshare/local"
//   lock_wait_seconds = 120
//   load_timeout_seconds = 1800         # a load from one source (file or http) must end within this
//   max_base_bytes = 34359738368        # a source larger than this (32 GiB) is never copied
//   storage_timeout_seconds = 30        # no progress on shared storage for this long: give up on it
//   uri = "qemu:///system"
//   virt_type = "auto"                  # auto | kvm | qemu
//   allowed_source_dirs = ["/srv/appliances"]
//   allowed_url_prefixes = ["https://mirror.example.org/appliances/"]
//   log = "syslog"                      # syslog | stderr | an absolute file path
//   gc_grace_seconds = 86400            # appshare gc: a base unused this long may go
//   host_gone_seconds = 259200          # a host not seen this long is taken as gone
//   shared_pool = "appshare-shared"     # libvirt storage pool over shared_root ("": none)
//   context_pool = "appshare-contexts"  # libvirt storage pool of the instances' overlays ("": none)
#pragma once

#include "base/result.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace appshare {

inline constexpr std::uint64_t kDefaultMaxBaseBytes = std::uint64_t{32} << 30;  // 32 GiB

struct Config {
    std::filesystem::path shared_root = "/var/lib/libvirt/images/appshare/shared";
    std::filesystem::path context_root = "/var/lib/libvirt/images/appshare/contexts";
    std::filesystem::path local_root = "/var/lib/libvirt/images/appshare/local";
    std::chrono::seconds lock_wait{120};
    // A load from one source (a file, an http URL, the other store's copy) must end within this.
    std::chrono::seconds load_timeout{1800};
    // Bases are loaded at a definer's word (digest and size come from the domain's metadata):
    // a source larger than this is refused before copying, and no load copies more.
    std::uint64_t max_base_bytes = kDefaultMaxBaseBytes;
    // A start gives up on the shared storage when its work there makes no progress for this
    // long (a network file system whose server is gone blocks every call on it).
    std::chrono::seconds storage_timeout{30};
    std::string uri;                 // empty: libvirt's default (LIBVIRT_DEFAULT_URI, ...)
    std::string virt_type = "auto";  // auto | kvm | qemu
    std::vector<std::filesystem::path> allowed_source_dirs;
    std::vector<std::string> allowed_url_prefixes;
    std::string log = "syslog";
    std::chrono::seconds gc_grace{86400};      // unused this long, a base may be collected
    std::chrono::seconds host_gone{3 * 86400};  // not seen this long, a host is taken as gone
    // libvirt storage pools the command keeps (virt/storage_pools.hpp): a directory pool over
    // shared_root, and one over <context_root>/.volumes (a link per instance to its overlay).
    // A pool of that name is used if it exists, defined (autostart, started) if not; "" means none.
    std::string shared_pool = "appshare-shared";
    std::string context_pool = "appshare-contexts";
    std::filesystem::path origin;    // the file it came from, empty for built-in defaults
};

inline constexpr std::string_view kDefaultConfigPath = "/etc/appshare/appshare.conf";

// Parses configuration text; `origin` names it in messages.
[[nodiscard]] Result<Config> parse_config(std::string_view text, std::string_view origin);

// The configuration file to use: `explicit_path` if given (it must exist), else
// $APPSHARE_CONFIG if set (it must exist), else /etc/appshare/appshare.conf if it exists,
// else the built-in defaults.
[[nodiscard]] Result<Config> load_config(const std::filesystem::path& explicit_path = {});

}  // namespace appshare
