// The libvirt qemu hook's logic, called by hooks/appshare_hook.cpp with what libvirt gave it:
//   <domain> <op> <subop> <extra>, the domain XML on stdin.
//
//   prepare begin    lock-and-load (prepare_start); a failure refuses the start with one
//                    sentence on stderr and a non-zero exit
//   started begin    record that this host runs the domain on its base (usage_records, state
//                    running) and that this host is live (host_registry, at most every 10 min)
//   reconnect begin  the same, after a daemon restart
//   release end      the same with state stopped (the record stays while the domain is defined),
//                    unless the domain just migrated away (instance/live_migration.hpp
//                    after_release): then this host's record goes, and a host-local context
//                    is moved aside (instance/migrated_context.hpp)
//   migrate begin    on the destination of a live migration: lock-and-load for the incoming
//                    instance (prepare_incoming); prints the XML back unchanged, or refuses the
//                    migration like prepare refuses a start
//   restore begin    a filter: print the XML back unchanged
//   anything else    nothing
// A domain without appshare metadata is passed through at once (no output, exit 0); the cheap
// test is the metadata namespace string, before any XML parsing. Bookkeeping failures are
// logged and never fail a call: only `prepare begin` may refuse a start. Bookkeeping runs in a
// worker abandoned after storage_timeout without progress (base/bounded_call.hpp).
#pragma once

#include "hook/hook_call.hpp"

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

namespace appshare {

struct HookRequest {
    std::string domain;
    std::string op;
    std::string subop;
    std::string extra;
    std::string stdin_xml;
    bool stdin_truncated = false;  // stdin was larger than the cap and was cut
};

struct HookResponse {
    int exit_status = 0;
    std::string stdout_text;  // XML for the filter operations, else empty
    std::string stderr_text;  // the one sentence libvirt shows, only on failure
};

// Handles one hook call. `config_path`: as for load_config (empty: $APPSHARE_CONFIG or
// /etc/appshare/appshare.conf).
[[nodiscard]] HookResponse run_hook(const HookRequest& request, const std::filesystem::path& config_path = {});

// The hook's catch-all: `work()`, or, should it throw, a refusal with one escaped sentence and
// exit status 1 (libvirt shows stderr to whoever started the domain; an abort would show nothing).
[[nodiscard]] HookResponse refuse_on_exception(const std::function<HookResponse()>& work) noexcept;

}  // namespace appshare
