#include "hook/hook_dispatch.hpp"

#include "base/bounded_call.hpp"
#include "instance/config.hpp"
#include "base/file_lock.hpp"
#include "hook/hook_log.hpp"
#include "instance/instance_metadata.hpp"
#include "instance/instance_paths.hpp"
#include "instance/instance_state.hpp"
#include "instance/lock_and_load.hpp"
#include "base/time_format.hpp"
#include "store/usage_records.hpp"

#include <unistd.h>

namespace appshare {
namespace {

HookResponse refuse(const Error& e)
{
    HookResponse r;
    r.exit_status = e.exit_status();
    r.stderr_text = e.message + "\n";
    return r;
}

// Runs `write` (bookkeeping on the shared storage) where a storage that stopped answering can
// be abandoned after storage_timeout: bookkeeping is never worth a hung domain operation.
Result<void> on_shared_storage(const Config& config, const std::function<Result<void>()>& write)
{
    BoundedOptions bounded;
    bounded.stall = std::chrono::duration_cast<std::chrono::milliseconds>(config.storage_timeout);
    bounded.what = "the shared storage " + config.shared_root.string();
    auto failure = bounded_call(
        [&](const LineFn&) {
            auto r = write();
            return r ? std::string() : r.error().message;
        },
        bounded);
    if (!failure) return std::move(failure).error();
    if (!failure->empty()) return make_error(ErrorCode::Io, *failure);
    return ok();
}

void log_usage(const HookLog& log, const Config& config, const InstancePaths& paths, HookAction action)
{
    const auto host = this_host_name();
    if (action == HookAction::Release) {
        auto r = on_shared_storage(config, [&] { return remove_usage_record(config.shared_root, paths.base.sha256, host, paths.domain); });
        if (!r) log.warning(r.error().message);
        return;
    }
    UsageRecord rec;
    rec.host = host;
    rec.domain = paths.domain;
    rec.base_sha256 = paths.base.sha256;
    rec.mode = "shared";
    rec.path = BlobStore(config.shared_root).path_of(paths.base);
    if (auto state = load_instance_state(paths.context.dir); state && *state) {
        rec.mode = std::string(instance_mode_name((*state)->mode));
        if (!(*state)->base.empty()) rec.path = (*state)->base;
    }
    rec.since = utc_timestamp_now();
    if (auto r = on_shared_storage(config, [&] { return write_usage_record(config.shared_root, rec); }); !r) {
        log.warning(r.error().message);
        return;
    }
    log.info(std::string(action == HookAction::Started ? "started" : "reconnected") + " on " + rec.path.string() +
             " (" + rec.mode + ")");
}

}  // namespace

static_assert(kHookMetadataMarker == kMetadataNamespace, "the hook's cheap test must look for the metadata namespace");

HookResponse run_hook(const HookRequest& request, const std::filesystem::path& config_path)
{
    const auto action = classify_hook_call(request.op, request.subop);
    if (action == HookAction::PassThrough) return {};
    if (action == HookAction::EchoXml) {
        // Printing the XML back is what "unchanged" means for a filter, also when several
        // hooks in qemu.d/ are chained. A truncated XML is not printed: empty output also
        // means "unchanged".
        HookResponse r;
        if (!request.stdin_truncated) r.stdout_text = request.stdin_xml;
        return r;
    }
    if (request.stdin_xml.find(kMetadataNamespace) == std::string::npos) return {};

    const bool prepare = action == HookAction::Prepare;
    const std::string origin = "the XML of domain " + request.domain;
    if (request.stdin_truncated) {
        if (!prepare) return {};
        return refuse(make_error(ErrorCode::BadManifest, origin + " is larger than 16 MiB; appshare refuses to read it."));
    }
    auto meta = read_instance_metadata(request.stdin_xml, origin);
    if (meta && !*meta) return {};
    auto config = load_config(config_path);
    const HookLog log(config ? config->log : std::string("syslog"), request.domain);
    if (!config) {
        log.error(config.error().message);
        return prepare ? refuse(config.error()) : HookResponse{};
    }
    if (!meta) {
        log.error(meta.error().message);
        return prepare ? refuse(meta.error()) : HookResponse{};
    }
    auto paths = trusted_instance_paths(*config, request.domain, **meta);
    if (!paths) {
        log.error(paths.error().message);
        return prepare ? refuse(paths.error()) : HookResponse{};
    }
    if (!prepare) {
        log_usage(log, *config, *paths, action);
        return {};
    }

    LoadOptions options;
    options.holder = this_process_holder(request.domain);
    options.log = [&log](const std::string& line) { log.info(line); };
    auto outcome = prepare_instance(*config, *paths, options);
    if (!outcome) {
        log.error(outcome.error().message);
        return refuse(outcome.error());
    }
    if (outcome->switched) {
        log.warning("switched to the independent copy " + outcome->base.string() + " because " + outcome->reason);
    }
    log.info("prepared on " + outcome->base.string() + " (" + std::string(instance_mode_name(outcome->mode)) + ")");
    return {};
}

}  // namespace appshare
