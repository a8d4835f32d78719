// appshare gc [--dry-run] [--json] [--grace SECONDS] [--connect URI] [--config FILE]
#include "arguments.hpp"
#include "commands.hpp"
#include "report.hpp"
#include "session.hpp"

#include "virt/gc_domains.hpp"

#include <memory>
#include <optional>

namespace appshare::cli {
namespace {

struct GcRequest {
    bool dry_run = false;
    bool json = false;
    std::optional<long long> grace;
};

Result<GcReport> collect(const GcRequest& r, const SessionOptions& s)
{
    auto config = session_config(s);
    if (!config) return std::move(config).error();
    auto conn = session_connection(s, *config);
    if (!conn) return std::move(conn).error();
    GcOptions o;
    o.dry_run = r.dry_run;
    o.grace = r.grace ? std::chrono::seconds(*r.grace) : config->gc_grace;
    o.notice = report_notice;
    auto report = garbage_collect(*conn, *config, o);
    if (report && !r.dry_run) refresh_pools(*conn, *config);
    return report;
}

}  // namespace

void register_gc(CLI::App& app, Action& chosen)
{
    auto* sub = app.add_subcommand("gc", "Remove shared bases, host-local copies and leftovers no instance on any host has used for a grace period");
    auto r = std::make_shared<GcRequest>();
    auto s = add_session_options(sub);
    sub->add_flag("-n,--dry-run", r->dry_run, "say what would be removed, and change nothing");
    sub->add_flag("--json", r->json, "print the report as JSON");
    sub->add_option("--grace", r->grace, "seconds a base must have been unused (default: the configuration's gc_grace_seconds, 86400)")
        ->check(CLI::Range(0LL, 10LL * 366 * 86400));
    set_examples(sub, {"appshare gc --dry-run", "appshare gc --grace 3600 --json"});
    // Ctrl-C stops it between two files; what it did so far is in the report.
    sub->callback([&chosen, r, s] {
        chosen = interruptible([r, s] {
            const auto outcome = collect(*r, *s);
            const int status = report_result(outcome, r->json, gc_report_json, gc_report_text);
            return outcome && outcome->interrupted ? static_cast<int>(ErrorCode::Interrupted) : status;
        });
    });
}

}  // namespace appshare::cli
