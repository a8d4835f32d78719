#include "store/host_usage.hpp"

#include "base/time_format.hpp"

namespace appshare {

std::string_view host_status_name(HostStatus status) noexcept
{
    switch (status) {
    case HostStatus::ThisHost: return "this host";
    case HostStatus::Live: return "live";
    case HostStatus::Gone: return "gone";
    case HostStatus::Unregistered: return "unregistered";
    }
    return "unregistered";
}

HostUsage read_host_usage(const std::filesystem::path& shared_root, const HostJudgement& judge,
                          std::string_view base_sha256)
{
    HostUsage out;
    HostScan registry = scan_host_records(shared_root);
    UsageScan usage = scan_usage_records(shared_root, base_sha256);
    for (auto& r : registry.hosts) {
        KnownHost h;
        h.name = r.name;
        const auto seen = parse_utc_timestamp(r.last_seen);  // valid: checked when read
        h.unseen = std::chrono::duration_cast<std::chrono::seconds>(judge.now - seen.value_or(judge.now));
        h.status = h.unseen > judge.gone_after ? HostStatus::Gone : HostStatus::Live;
        h.record = std::move(r);
        out.hosts[h.name] = std::move(h);
    }
    for (const auto& rec : usage.records) {
        KnownHost& h = out.hosts[rec.host];
        h.name = rec.host;
        ++h.records;
    }
    if (auto me = out.hosts.find(judge.this_host); me != out.hosts.end()) me->second.status = HostStatus::ThisHost;
    out.records = std::move(usage.records);
    for (auto* scan : {&registry.dir, &usage.dir}) {
        out.skipped.insert(out.skipped.end(), scan->skipped.begin(), scan->skipped.end());
        out.temporary.insert(out.temporary.end(), scan->temporary.begin(), scan->temporary.end());
        out.complete = out.complete && scan->complete;
    }
    return out;
}

}  // namespace appshare
