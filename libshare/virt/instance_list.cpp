#include "virt/instance_list.hpp"

#include "instance/cloud_init_seed.hpp"

#include "base/size_units.hpp"
#include "instance/instance_state.hpp"
#include "virt/appshare_domain.hpp"
#include "virt/domain.hpp"

#include <algorithm>
#include <cstdio>
#include <map>

namespace appshare {
namespace {

std::string ratio_text(double ratio)
{
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", ratio);
    return buf;
}

std::string pad(std::string s, std::size_t width)
{
    if (s.size() < width) s.append(width - s.size(), ' ');
    return s;
}

std::string signed_size(std::int64_t bytes)
{
    if (bytes >= 0) return format_size(static_cast<std::uint64_t>(bytes));
    return "-" + format_size(static_cast<std::uint64_t>(-bytes));
}

}  // namespace

Result<InstanceListing> list_instances(const Connection& conn, const Config& config)
{
    auto domains = list_domains(conn, DomainListFilter::All);
    if (!domains) return std::move(domains).error();
    InstanceListing out;
    std::vector<InstanceUsage> usage;
    for (Domain& dom : *domains) {
        auto loaded = load_appshare_domain(std::move(dom), config);
        if (!loaded) {
            // NotFound: undefined since it was listed, so nothing to say.
            if (loaded.error().code != ErrorCode::NotFound) out.warnings.push_back(loaded.error().message);
            continue;
        }
        if (!*loaded) continue;  // not an appshare instance
        const AppshareDomain& d = **loaded;
        const InstanceMetadata& m = d.metadata;
        InstanceInfo i;
        i.name = d.name;
        if (auto uuid = domain_uuid(d.domain)) i.uuid = *uuid;
        i.appliance = m.appliance_name;
        i.version = m.appliance_version;
        auto state = domain_state(d.domain);
        i.state = state ? std::string(domain_state_name(*state)) : "unknown";
        i.base_sha256 = m.base.sha256;
        i.base_bytes = m.base.size;
        i.base_path = m.base.path;
        i.context_dir = m.context_dir;
        // Only the domain's own context is looked into (list runs as root; the metadata is
        // anyone's who may define domains): any other directory is never walked.
        if (!d.context) {
            i.mode = std::string(kInvalidMetadata);
            i.mode_reason = d.context.error().message;
            out.warnings.push_back(d.context.error().message);
            out.instances.push_back(std::move(i));
            continue;
        }
        i.context_dir = d.context->dir;
        if (auto bytes = disk_usage_bytes(d.context->dir)) i.context_bytes = *bytes;
        i.cloud_init_seed = has_seed(*d.context);
        i.mode = "unknown";
        if (auto st = load_instance_state(d.context->dir); st && *st) {
            i.mode = std::string(instance_mode_name((*st)->mode));
            i.mode_reason = (*st)->reason;
        }
        usage.push_back(InstanceUsage{i.base_sha256, i.base_bytes, i.context_bytes});
        out.instances.push_back(std::move(i));
    }
    std::sort(out.instances.begin(), out.instances.end(),
              [](const InstanceInfo& a, const InstanceInfo& b) { return a.name < b.name; });
    out.storage = storage_report(usage);
    auto migrated = list_migrated_contexts(config.context_root);
    if (migrated) out.migrated = std::move(*migrated);
    else out.warnings.push_back(migrated.error().message);
    return out;
}

namespace {

// One line per context kept at a migration away.
std::string migrated_text(const InstanceListing& l)
{
    std::string s;
    for (const auto& m : l.migrated) {
        s += "kept from a migration away: " + m.dir.string() + " (" + m.name + ", to " +
             (m.to_host.empty() ? std::string("another host") : "host " + m.to_host) + ", " + format_size(m.bytes) +
             "); appshare gc removes it once " + m.name + " is undefined here and runs or is defined there\n";
    }
    return s;
}

}  // namespace

std::string instance_listing_text(const InstanceListing& l)
{
    if (l.instances.empty()) {
        std::string s = "No appshare instances. Install one with 'appshare install BUNDLE --name NAME'.\n" + migrated_text(l);
        for (const auto& w : l.warnings) s += "warning: " + w + "\n";
        return s;
    }
    std::size_t wn = 4, wa = 9, wv = 7, ws = 5, wm = 11;
    for (const auto& i : l.instances) {
        wm = std::max(wm, i.mode.size());
        wn = std::max(wn, i.name.size());
        wa = std::max(wa, i.appliance.size());
        wv = std::max(wv, i.version.size());
        ws = std::max(ws, i.state.size());
    }
    std::string s = pad("NAME", wn) + "  " + pad("APPLIANCE", wa) + "  " + pad("VERSION", wv) + "  " +
                    pad("STATE", ws) + "  " + pad("MODE", wm) + "  " + pad("BASE", 12) + "  CONTEXT\n";
    for (const auto& i : l.instances) {
        s += pad(i.name, wn) + "  " + pad(i.appliance, wa) + "  " + pad(i.version, wv) + "  " + pad(i.state, ws) +
             "  " + pad(i.mode, wm) + "  " + pad(i.base_sha256.substr(0, 12), 12) + "  " + format_size(i.context_bytes) +
             "\n";
    }
    s += "\n";
    for (const auto& b : l.storage.bases) {
        s += "base " + b.sha256.substr(0, 12) + " (" + format_size(b.base_bytes) + "): " + std::to_string(b.instances) +
             (b.instances == 1 ? " instance" : " instances") + ", contexts " + format_size(b.context_bytes) + "\n";
    }
    const auto& r = l.storage;
    s += "storage: " + format_size(r.used_bytes) + " used instead of " + format_size(r.full_copies_bytes) +
         " for full copies: " + signed_size(r.saved_bytes) + " saved (" + ratio_text(r.ratio) + "x)\n";
    s += migrated_text(l);
    for (const auto& w : l.warnings) s += "warning: " + w + "\n";
    return s;
}

nlohmann::json instance_listing_json(const InstanceListing& l)
{
    nlohmann::json instances = nlohmann::json::array();
    for (const auto& i : l.instances) {
        instances.push_back({{"name", i.name},
                             {"uuid", i.uuid},
                             {"appliance", i.appliance},
                             {"version", i.version},
                             {"state", i.state},
                             {"mode", i.mode},
                             {"mode_reason", i.mode_reason},
                             {"cloud_init_seed", i.cloud_init_seed},
                             {"base_sha256", i.base_sha256},
                             {"base_path", i.base_path.string()},
                             {"base_bytes", i.base_bytes},
                             {"context_dir", i.context_dir.string()},
                             {"context_bytes", i.context_bytes}});
    }
    nlohmann::json bases = nlohmann::json::array();
    for (const auto& b : l.storage.bases) {
        bases.push_back({{"sha256", b.sha256},
                         {"base_bytes", b.base_bytes},
                         {"instances", b.instances},
                         {"context_bytes", b.context_bytes},
                         {"full_copies_bytes", b.full_copies_bytes},
                         {"used_bytes", b.used_bytes},
                         {"saved_bytes", b.saved_bytes}});
    }
    nlohmann::json migrated = nlohmann::json::array();
    for (const auto& m : l.migrated) {
        migrated.push_back({{"name", m.name}, {"uuid", m.uuid}, {"to_host", m.to_host}, {"dir", m.dir.string()}, {"bytes", m.bytes}});
    }
    const auto& r = l.storage;
    return {{"instances", instances},
            {"migrated_contexts", migrated},
            {"bases", bases},
            {"storage",
             {{"instances", r.instances},
              {"full_copies_bytes", r.full_copies_bytes},
              {"used_bytes", r.used_bytes},
              {"saved_bytes", r.saved_bytes},
              {"ratio", r.ratio}}},
            {"warnings", l.warnings}};
}

}  // namespace appshare
