// appshare install: installs only the context of an appliance. Verifies the bundle, puts its
// base (and boot files) on shared storage at most once, creates the instance's context (overlay
// backed by the shared base, identity, instance.json), registers the hook, renders the domain
// XML from xml-templates/domain.xml and defines it. All or nothing: on any failure or Ctrl-C,
// the context and the domain it made are removed, and an existing domain of that name is never
// touched. Only a base (or boot file) published complete and verified stays: it is shared.
#pragma once

#include "instance/config.hpp"
#include "hook/hook_registration.hpp"
#include "base/result.hpp"
#include "virt/connection.hpp"
#include "virt/install_cloud_init.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace appshare {

struct InstallRequest {
    std::filesystem::path bundle;              // directory or tar archive
    std::string name;                          // domain name, context directory name, hostname
    std::optional<std::uint64_t> memory_bytes; // overrides the manifest (>= 1 MiB)
    std::optional<unsigned> vcpus;             // overrides the manifest (1..4096)
    std::string virt_type;                     // "kvm" | "qemu" | "auto"; empty: the configuration's
    bool lazy = false;                         // leave loading the base to the hook, at the first start
    std::optional<std::string> title;          // overrides "<appliance> <version>"
    std::optional<std::string> description;    // overrides the manifest's description
    CloudInitOptions cloud_init;               // the instance's cloud-init seed (virt/install_cloud_init.hpp)
    bool show_progress = false;                // progress lines on stderr (when it is a terminal)
    std::function<void(const std::string&)> notice;  // one line per event worth telling (a lock wait)
    std::filesystem::path hooks_dir = std::string(kLibvirtHooksDir);
    std::filesystem::path hook_binary;         // empty: hook_binary_path()
};

struct InstallResult {
    enum class BaseAction { Reused, Reverified, Loaded, Deferred };

    std::string name;
    std::string uuid;
    std::string appliance;
    std::string version;
    std::string virt_type;
    std::filesystem::path base;         // the shared base the overlay is backed by
    BaseAction base_action = BaseAction::Reused;
    std::filesystem::path context_dir;
    std::filesystem::path overlay;
    std::uint64_t context_bytes = 0;    // on disk, right after install
    std::vector<std::string> source_files;  // where the hook may (re)load the base from
    std::vector<std::string> source_urls;
    HookRegistration hook;
    std::optional<std::filesystem::path> seed_iso;  // the cloud-init seed, when the instance has one
    std::vector<std::string> key_fingerprints;      // the SSH keys it authorises
    std::optional<std::string> password;            // generated: shown once by install_summary, never stored
    std::string reload_advice;          // non-empty: what the user must do for libvirt to run the hook
    std::vector<std::string> warnings;  // e.g. a lazy source directory the configuration does not allow
};

// Installs the bundle as instance `request.name` on `conn`. Errors: Usage (bad name, memory,
// vcpus, virt type, --lazy without a loadable source), AlreadyExists (domain or context of that
// name, a foreign hook file), the bundle's verify errors, Io (storage unwritable or full),
// LockTimeout, Libvirt (refused definition), Interrupted (Ctrl-C).
[[nodiscard]] Result<InstallResult> install_appliance(const Connection& conn, const Config& config,
                                                      const InstallRequest& request);

// A few lines for the user: what was installed where, how to start it, and any reload advice.
[[nodiscard]] std::string install_summary(const InstallResult& result);

}  // namespace appshare
