// `appshare gc` on this host: what libvirt says about the domains here (which bases and boot
// files they name, which run), then the collection itself (instance/garbage_collect.hpp).
#pragma once

#include "base/result.hpp"
#include "instance/config.hpp"
#include "instance/garbage_collect.hpp"
#include "virt/connection.hpp"

namespace appshare {

// Every domain on `conn` (defined or running) and, for those with appshare metadata, the digests
// they name — from the persistent definition and, for a running domain, also from the live one.
// A domain whose metadata is malformed is a warning (its start would be refused anyway).
// Errors: Libvirt when the domains or a definition cannot be read: gc must not guess.
[[nodiscard]] Result<LocalDomains> local_domains(const Connection& conn, const Config& config);

// local_domains, then collect_garbage.
[[nodiscard]] Result<GcReport> garbage_collect(const Connection& conn, const Config& config, const GcOptions& options);

}  // namespace appshare
