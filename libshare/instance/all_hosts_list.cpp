#include "instance/all_hosts_list.hpp"

#include "base/text.hpp"
#include "base/time_format.hpp"

#include <algorithm>
#include <tuple>

namespace appshare {
namespace {

std::string pad(std::string s, std::size_t width)
{
    if (s.size() < width) s.append(width - s.size(), ' ');
    return s;
}

nlohmann::json live_json(HostStatus s)
{
    if (s == HostStatus::Unregistered) return nullptr;
    return s != HostStatus::Gone;
}

}  // namespace

AllHostsListing list_all_hosts(const Config& config)
{
    HostJudgement judge;
    judge.gone_after = config.host_gone;
    HostUsage usage = read_host_usage(config.shared_root, judge);
    AllHostsListing out;
    out.instances = std::move(usage.records);
    std::sort(out.instances.begin(), out.instances.end(), [](const UsageRecord& a, const UsageRecord& b) {
        return std::tie(a.host, a.domain, a.base_sha256) < std::tie(b.host, b.domain, b.base_sha256);
    });
    for (auto& [name, h] : usage.hosts) {
        if (h.status == HostStatus::Unregistered) {
            out.warnings.push_back("host " + name + " has usage records but no entry in the hosts registry (an older appshare?)");
        }
        out.hosts.push_back(std::move(h));
    }
    for (const auto& s : usage.skipped) out.warnings.push_back("skipped " + s);
    if (!usage.complete) out.warnings.push_back("the shared storage could not all be read: instances may be missing");
    return out;
}

std::string all_hosts_text(const AllHostsListing& l)
{
    std::string s;
    if (l.instances.empty()) {
        s = "No instances are recorded on the shared storage.\n";
    } else {
        std::size_t wh = 4, wd = 6, wm = 4;
        for (const auto& i : l.instances) {
            wh = std::max(wh, i.host.size());
            wd = std::max(wd, i.domain.size());
            wm = std::max(wm, i.mode.size());
        }
        s = pad("HOST", wh) + "  " + pad("DOMAIN", wd) + "  " + pad("STATE", 7) + "  " + pad("MODE", wm) + "  " +
            pad("BASE", 12) + "  " + pad("SINCE", 20) + "  HOST STATUS\n";
        for (const auto& i : l.instances) {
            const auto h = std::find_if(l.hosts.begin(), l.hosts.end(), [&](const KnownHost& k) { return k.name == i.host; });
            const std::string status = h == l.hosts.end() ? "unregistered" : std::string(host_status_name(h->status));
            s += pad(i.host, wh) + "  " + pad(i.domain, wd) + "  " + pad(i.state, 7) + "  " + pad(i.mode, wm) + "  " +
                 pad(i.base_sha256.substr(0, 12), 12) + "  " + pad(i.since, 20) + "  " + status + "\n";
        }
    }
    if (!l.hosts.empty()) s += "\n";
    for (const auto& h : l.hosts) {
        s += "host " + h.name + ": " + std::string(host_status_name(h.status));
        if (h.record) {
            s += ", last seen " + h.record->last_seen + " (" + format_age(h.unseen) + " ago)";
            if (!h.record->appshare_version.empty()) s += ", appshare " + printable(h.record->appshare_version);
        } else {
            s += ", not in the hosts registry";
        }
        s += ", " + std::to_string(h.records) + (h.records == 1 ? " instance" : " instances");
        if (h.status == HostStatus::Gone && h.records > 0) s += " (taken as gone: they keep no base)";
        s += "\n";
    }
    for (const auto& w : l.warnings) s += "warning: " + w + "\n";
    return s;
}

nlohmann::json all_hosts_json(const AllHostsListing& l)
{
    nlohmann::json instances = nlohmann::json::array();
    for (const auto& i : l.instances) {
        const auto h = std::find_if(l.hosts.begin(), l.hosts.end(), [&](const KnownHost& k) { return k.name == i.host; });
        const HostStatus status = h == l.hosts.end() ? HostStatus::Unregistered : h->status;
        instances.push_back({{"host", i.host},
                             {"domain", i.domain},
                             {"base_sha256", i.base_sha256},
                             {"mode", i.mode},
                             {"state", i.state},
                             {"path", i.path.string()},
                             {"since", i.since},
                             {"host_status", std::string(host_status_name(status))},
                             {"host_live", live_json(status)}});
    }
    nlohmann::json hosts = nlohmann::json::array();
    for (const auto& h : l.hosts) {
        hosts.push_back({{"name", h.name},
                         {"status", std::string(host_status_name(h.status))},
                         {"live", live_json(h.status)},
                         {"machine_id", h.record ? h.record->machine_id : std::string()},
                         {"last_seen", h.record ? h.record->last_seen : std::string()},
                         {"unseen_seconds", h.unseen.count()},
                         {"appshare_version", h.record ? h.record->appshare_version : std::string()},
                         {"records", h.records}});
    }
    return {{"instances", instances}, {"hosts", hosts}, {"warnings", l.warnings}};
}

}  // namespace appshare
