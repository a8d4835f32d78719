// What the lifecycle commands share: the configuration (--config / APPSHARE_CONFIG) and the
// libvirt connection (--connect, else LIBVIRT_DEFAULT_URI, else the configuration's uri).
#pragma once

#include "instance/config.hpp"
#include "base/result.hpp"
#include "virt/connection.hpp"

#include <CLI/CLI.hpp>

#include <memory>
#include <string>
#include <vector>

namespace appshare::cli {

struct SessionOptions {
    std::string config_path;
    std::string connect;
};

// Adds --config and -c/--connect to `sub` (install, list, uninstall, reshare).
std::shared_ptr<SessionOptions> add_session_options(CLI::App* sub);

// The configuration to use.
[[nodiscard]] Result<Config> session_config(const SessionOptions& o);

// The libvirt URI to use: --connect, else $LIBVIRT_DEFAULT_URI (returned empty: libvirt reads it
// itself), else the configuration's uri.
[[nodiscard]] std::string session_uri(const SessionOptions& o, const Config& config);

// Opens the connection; silences libvirt's own stderr printer first.
[[nodiscard]] Result<Connection> session_connection(const SessionOptions& o, const Config& config);

// After a command changed appshare's storage (uninstall, reshare, gc): the storage pools
// refreshed (virt/storage_pools.hpp), each warning told on stderr; never fails the command.
// (install refreshes them itself, beside its defines: report_pool_warnings tells what it said.)
void refresh_pools(const Connection& conn, const Config& config);

// The warnings of a pool refresh, each told on stderr.
void report_pool_warnings(const std::vector<std::string>& warnings);

}  // namespace appshare::cli
