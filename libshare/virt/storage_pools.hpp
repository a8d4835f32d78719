// libvirt storage pools over appshare's storage, so `virsh vol-list` and virt-manager's Storage
// tab show the shared bases (pool `shared_pool`, a directory pool over shared_root) and every
// instance's overlay with its backing store (pool `context_pool`, a directory pool over
// <context_root>/.volumes, instance/context_volumes.hpp).
//
// Only the commands do this: install beside its last defines (virt/install.hpp), uninstall,
// reshare and gc after what they changed on storage; the hook never calls libvirt, so what it does at a start (a base loaded, a context made
// for a domain defined by hand) shows at the next refresh. A pool is never clobbered: the pool
// over the expected folder is used as it is, whatever its name (libvirt allows one per folder);
// when there is none, one of the configured name over another folder is left alone (with one
// warning), else the pool is defined. Both pools are refreshed at once. Only a pool appshare
// defines gets autostart.
#pragma once

#include "instance/config.hpp"
#include "virt/connection.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace appshare {

// What a refresh did: for messages and tests.
struct PoolRefresh {
    std::vector<std::string> defined;    // pools appshare defined now
    std::vector<std::string> refreshed;  // pools refreshed (by the name libvirt knows them)
    std::vector<std::string> warnings;   // one sentence each; the command prints them
};

// The folder a pool of `config` covers: shared_root, or <context_root>/.volumes.
[[nodiscard]] std::filesystem::path shared_pool_target(const Config& config);
[[nodiscard]] std::filesystem::path context_pool_target(const Config& config);

// The pool XML (from `template_file`, normally template_dir()/"pool.xml") for a directory pool.
[[nodiscard]] Result<std::string> render_pool_xml(const std::string& name, const std::filesystem::path& target,
                                                  const std::filesystem::path& template_file);

// The target path a pool's XML names (empty when it names none).
[[nodiscard]] std::string pool_target_path(std::string_view pool_xml);

// Brings the context links up to date, then makes sure the configured pools exist (defined,
// autostart, started when appshare defines them) and refreshes them. Never fails the command:
// whatever went wrong is a warning. A pool whose folder does not exist yet is skipped.
[[nodiscard]] PoolRefresh refresh_storage_pools(const Connection& conn, const Config& config);

}  // namespace appshare
