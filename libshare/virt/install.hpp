// appshare install: installs only the context of an appliance. Verifies the bundle, puts its
// base (and boot files) on shared storage at most once, creates the instance's context (overlay
// backed by the shared base, identity, instance.json), registers the hook, renders the domain
// XML from xml-templates/domain.xml and defines it. All or nothing: on any failure or Ctrl-C,
// the context and the domain it made are removed, and an existing domain of that name is never
// touched. Only a base (or boot file) published complete and verified stays: it is shared.
//
// Many instances of one bundle in one call (install_appliances): every name is checked before
// anything is made, then one verification, one base publication and one hook registration, then
// each instance's context and domain; all or nothing per instance (a failed instance leaves
// nothing of itself, the others stay). The storage pools are refreshed (virt/storage_pools.hpp)
// once every instance's context is complete, beside the last defines.
#pragma once

#include "instance/config.hpp"
#include "hook/hook_registration.hpp"
#include "base/error.hpp"
#include "base/result.hpp"
#include "virt/connection.hpp"
#include "virt/install_cloud_init.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
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
    unsigned jobs = 0;                         // install_appliances: instances made at once (0: 4)
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
    std::vector<std::string> pool_warnings;  // what the storage pools' refresh could not do (virt/storage_pools.hpp)
};

// What install_appliances made and what failed, in the order of the names given.
struct BulkInstallResult {
    struct Failure {
        std::string name;
        Error error;
    };
    std::vector<InstallResult> made;
    std::vector<Failure> failed;
    std::vector<std::string> pool_warnings;  // what the storage pools' refresh could not do (virt/storage_pools.hpp)
};

// Told after each instance is made (failure == nullptr) or has failed: done of total so far.
// Called from the threads that make instances, one call at a time.
using InstanceDoneFn =
    std::function<void(std::size_t done, std::size_t total, const std::string& name, const Error* failure)>;

// `count` names `prefix`1 .. `prefix`<count> (--count N --name-prefix P). Errors: Usage (count
// 0 or above 10000, or names check_instance_name refuses).
[[nodiscard]] Result<std::vector<std::string>> numbered_instance_names(std::string_view prefix, unsigned count);

// Checks, without asking libvirt, that every name may be installed: a valid instance name, given
// once, and no context directory of that name in config.context_root. Errors: Usage,
// AlreadyExists (naming the first taken name).
[[nodiscard]] Result<void> check_instance_names(const Config& config, const std::vector<std::string>& names);

// Installs the bundle as one instance per name (request.name is not used): the names are checked
// first (check_instance_names, then that libvirt has no domain of any of them: AlreadyExists),
// then the bundle is verified and its base published once, then each instance is made, all or
// nothing per instance. An error (nothing made) when any of that first part fails; otherwise
// what was made and what failed (Interrupted for the instances not made after Ctrl-C).
[[nodiscard]] Result<BulkInstallResult> install_appliances(const Connection& conn, const Config& config,
                                                           const InstallRequest& request,
                                                           const std::vector<std::string>& names,
                                                           const InstanceDoneFn& on_done = {});

// The limits install_appliance puts on a request's --memory and --vcpus (Usage errors); the
// command checks its arguments with them as it parses.
[[nodiscard]] Result<void> check_install_memory(std::uint64_t bytes);
[[nodiscard]] Result<void> check_install_vcpus(unsigned vcpus);

// Installs the bundle as instance `request.name` on `conn`. Errors: Usage (bad name, memory,
// vcpus, virt type, --lazy without a loadable source), AlreadyExists (domain or context of that
// name, a foreign hook file), the bundle's verify errors, Io (storage unwritable or full),
// LockTimeout, Libvirt (refused definition), Interrupted (Ctrl-C).
[[nodiscard]] Result<InstallResult> install_appliance(const Connection& conn, const Config& config,
                                                      const InstallRequest& request);

// A few lines for the user: what was installed where, how to start it, and any reload advice.
[[nodiscard]] std::string install_summary(const InstallResult& result);

// For many instances: the shared part once (base, virt type, hook, notes), one line per instance
// made, one per instance that failed, and a count of each.
[[nodiscard]] std::string bulk_install_summary(const BulkInstallResult& result);

}  // namespace appshare
