#include "hook/hook_dispatch.hpp"

#include "base/bounded_call.hpp"
#include "instance/cloud_init_seed.hpp"
#include "instance/config.hpp"
#include "instance/domain_xml.hpp"
#include "base/file_lock.hpp"
#include "base/text.hpp"
#include "hook/hook_log.hpp"
#include "instance/instance_metadata.hpp"
#include "instance/instance_paths.hpp"
#include "instance/instance_usage.hpp"
#include "instance/live_migration.hpp"
#include "instance/lock_and_load.hpp"
#include "store/host_registry.hpp"
#include "store/usage_records.hpp"

#include <unistd.h>

namespace appshare {
namespace {

HookResponse refuse(const Error& e)
{
    HookResponse r;
    r.exit_status = e.exit_status();
    r.stderr_text = printable_message(e.message) + "\n";  // what virsh start shows: one line, escaped
    return r;
}

// What the bookkeeping of a release says when the incoming migration that made the context failed.
constexpr std::string_view kFailedArrival = "the incoming migration did not complete";

// Bookkeeping on the shared storage: this host in the hosts registry (at most every few
// minutes), and the domain's usage record: running after started / reconnect, stopped after
// release (it stays while the domain is defined here: a stopped domain still needs its base).
// Done in a worker that is abandoned when the shared storage stops answering: libvirt waits for
// this call, and no bookkeeping may hold a domain's start or stop.
void record_usage(const HookLog& log, const Config& config, const InstancePaths& paths, HookAction action,
                  const std::string& uuid)
{
    const bool running = action != HookAction::Release;
    BoundedOptions bounded;
    bounded.stall = std::chrono::duration_cast<std::chrono::milliseconds>(config.storage_timeout);
    bounded.on_line = [&log](const std::string& line) { log.warning(line); };
    bounded.what = "the shared storage " + config.shared_root.string();
    auto done = bounded_call(
        [&](const LineFn& warn) {
            if (auto r = refresh_host_record(config.shared_root); !r) warn(r.error().message);
            if (!running) {
                // A stop that ends an outgoing live migration: the bookkeeping has moved.
                auto away = after_release(config, paths, uuid);
                if (!away) warn("cannot tell whether the domain migrated away: " + away.error().message);
                if (away && away->migrated) {
                    return std::string(away->ran_here ? "migrated to " : "did not get to run here; it runs on ") + away->to_host +
                           (away->kept_at.empty() ? "; its context is shared, left as it is"
                                                  : "; its host-local context is kept at " + away->kept_at.string() +
                                                        " until appshare gc");
                }
                if (away && away->arrival.outcome == ArrivalOutcome::Failed) {
                    return std::string(kFailedArrival) + "; the domain runs on at " + away->arrival.runs_on +
                           " and the context made for it is kept at " + away->arrival.kept_at.string() + " until appshare gc";
                }
                if (away && away->arrival.outcome == ArrivalOutcome::Undecided) {
                    warn("cannot tell whether the incoming migration of this domain completed (the usage records could not all be "
                         "read), so its context stays marked as arriving; appshare gc settles it once the shared storage answers");
                }
            }
            UsageRecord rec = instance_usage_record(config, paths, running ? "running" : "stopped");
            rec.uuid = uuid;
            if (auto r = write_usage_record(config.shared_root, rec); !r) {
                warn(r.error().message);
                return std::string();
            }
            // A stop logs only a departure; a start where its record went.
            return running ? "on " + rec.path.string() + " (" + rec.mode + ")" : std::string();
        },
        bounded);
    if (!done) {
        log.warning("the usage record of this domain was not written: " + done.error().message);
        return;
    }
    if (done->empty()) return;
    if (!running) {
        log.info(*done);
        return;
    }
    log.info(std::string(action == HookAction::Started ? "started" : "reconnected") + " " + *done);
}

}  // namespace

static_assert(kHookMetadataMarker == kMetadataNamespace, "the hook's cheap test must look for the metadata namespace");

HookResponse run_hook(const HookRequest& request, const std::filesystem::path& config_path)
{
    const auto action = classify_hook_call(request.op, request.subop);
    if (action == HookAction::PassThrough) return {};
    const bool ours = request.stdin_xml.find(kMetadataNamespace) != std::string::npos;
    if (action == HookAction::EchoXml || (action == HookAction::Migrate && !ours)) {
        // Printing the XML back is what "unchanged" means for a filter, also when several
        // hooks in qemu.d/ are chained. A truncated XML is not printed: empty output also
        // means "unchanged".
        HookResponse r;
        if (!request.stdin_truncated) r.stdout_text = request.stdin_xml;
        return r;
    }
    if (!ours) return {};

    // Only a start and an incoming migration may be refused; bookkeeping never fails a call.
    const bool prepare = action == HookAction::Prepare || action == HookAction::Migrate;
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
        if (action == HookAction::Release) {
            auto reclaimed = reclaim_seed_iso(paths->context);
            if (!reclaimed) log.warning(reclaimed.error().message);
        }
        record_usage(log, *config, *paths, action, domain_uuid_of(request.stdin_xml));
        return {};
    }

    LoadOptions options;
    options.holder = this_process_holder(request.domain);
    options.log = [&log](const std::string& line) { log.info(line); };
    const bool incoming = action == HookAction::Migrate;
    auto outcome = incoming ? prepare_incoming(*config, *paths,
                                               IncomingDomain{domain_uuid_of(request.stdin_xml),
                                                              disk_target_of(request.stdin_xml, paths->context.seed_iso)},
                                               options)
                            : prepare_start(*config, *paths, options);
    if (!outcome) {
        log.error(outcome.error().message);
        return refuse(outcome.error());
    }
    if (outcome->switched) {
        log.warning("switched to the independent copy " + outcome->base.string() + " because " + outcome->reason);
    }
    log.info(std::string(incoming ? "incoming migration prepared on " : "prepared on ") + outcome->base.string() + " (" +
             std::string(instance_mode_name(outcome->mode)) + ")");
    if (!backing_chain_spelled_out(request.stdin_xml, paths->context.overlay, paths->context.base_link)) {
        log.warning("the definition of domain " + request.domain +
                    " does not name its base link with relabel='no' (an older appshare defined it), so libvirt chowns the base "
                    "at this start; run 'appshare reshare " + request.domain + "' while it is shut off to fix the definition");
    }
    HookResponse r;
    if (incoming) r.stdout_text = request.stdin_xml;  // a filter: the XML unchanged
    return r;
}

HookResponse refuse_on_exception(const std::function<HookResponse()>& work) noexcept
{
    HookResponse response;
    response.exit_status = 1;
    try {
        return work();
    } catch (const std::exception& e) {
        try {
            response.stderr_text = "appshare-hook failed unexpectedly (" + printable(e.what()) +
                                   "); the start was refused, please report this.\n";
        } catch (...) {
            response.stderr_text.clear();
        }
    } catch (...) {
    }
    if (response.stderr_text.empty()) {
        response.stderr_text = "appshare-hook failed unexpectedly; the start was refused, please report this.\n";
    }
    return response;
}

}  // namespace appshare
