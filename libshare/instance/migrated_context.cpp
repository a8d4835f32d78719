#include "instance/migrated_context.hpp"

#include "base/atomic_file.hpp"
#include "base/dir_handle.hpp"
#include "base/error.hpp"
#include "base/host_identity.hpp"
#include "base/small_file.hpp"
#include "base/text.hpp"
#include "instance/storage_report.hpp"
#include "store/usage_records.hpp"

#include <sys/stat.h>

namespace appshare {
namespace {

constexpr std::string_view kPrefix = ".migrated.";
constexpr std::string_view kMarker = "migrated-to";
constexpr std::size_t kUuidChars = 36;

// "<name>.<uuid>" after the prefix, split; false for any other name.
bool parse_name(const std::string& entry, MigratedContext& out)
{
    if (entry.rfind(kPrefix, 0) != 0 || entry.size() < kPrefix.size() + 2 + kUuidChars) return false;
    const std::string rest = entry.substr(kPrefix.size());
    const std::string uuid = rest.substr(rest.size() - kUuidChars);
    const std::string name = rest.substr(0, rest.size() - kUuidChars - 1);
    if (rest[rest.size() - kUuidChars - 1] != '.' || !is_domain_uuid(uuid) || !check_instance_name(name)) return false;
    out.name = name;
    out.uuid = uuid;
    return true;
}

std::string recorded_host(const std::filesystem::path& dir)
{
    const auto f = read_small_file(dir / kMarker, kMaxRecordedNameBytes + 1);
    if (!f) return {};
    std::string host = f.text;
    while (!host.empty() && (host.back() == '\n' || host.back() == ' ')) host.pop_back();
    return is_plain_name(host, kMaxRecordedNameBytes) ? host : std::string();
}

}  // namespace

std::string migrated_context_name(std::string_view name, std::string_view uuid)
{
    return std::string(kPrefix) + std::string(name) + "." + std::string(uuid);
}

Result<MigratedContext> move_context_aside(const std::filesystem::path& context_root, const ContextLayout& context,
                                           std::string_view name, std::string_view uuid, std::string_view to_host)
{
    if (context.dir.lexically_normal().parent_path() != context_root.lexically_normal() || !is_domain_uuid(uuid)) {
        return make_error(ErrorCode::UnsafePath, "the context " + context.dir.string() + " is not directly inside the context root " +
                                                     context_root.string() + ", so it is not moved aside; move it by hand.");
    }
    auto root = DirHandle::open(context_root);
    if (!root) return std::move(root).error();
    MigratedContext kept{std::string(name), std::string(uuid), std::string(to_host), {}};
    const std::string aside = migrated_context_name(name, uuid);
    kept.dir = *root / aside;
    auto there = root->stat(aside);
    if (!there) return std::move(there).error();
    if (*there) {
        return make_error(ErrorCode::AlreadyExists, "a context of domain " + std::string(name) + " kept from an earlier migration is already at " +
                                                        kept.dir.string() + ", so " + context.dir.string() +
                                                        " stays where it is; remove the older one if it is not needed.");
    }
    const std::string live = context.dir.filename().string();
    auto dir = root->sub(live);
    if (!dir) return std::move(dir).error();
    auto marker = TempFile::create_in(*dir, kMarker, 0600);
    if (!marker) return std::move(marker).error();
    if (auto w = marker->write(std::string(to_host) + "\n"); !w) return std::move(w).error();
    if (auto c = marker->commit(0600); !c) return std::move(c).error();
    if (auto r = root->rename(live, aside); !r) {
        (void)dir->remove(kMarker);
        return std::move(r).error();
    }
    (void)root->sync();
    return kept;
}

Result<std::vector<MigratedContext>> list_migrated_contexts(const std::filesystem::path& context_root)
{
    std::vector<MigratedContext> out;
    auto names = list_no_links(context_root);
    if (!names) return std::move(names).error();
    if (!*names) return out;
    for (const auto& entry : **names) {
        MigratedContext m;
        if (!parse_name(entry, m)) continue;
        m.dir = context_root / entry;
        auto st = stat_no_links(m.dir);
        if (!st) return std::move(st).error();
        if (!*st || !S_ISDIR((*st)->st_mode)) continue;
        m.to_host = recorded_host(m.dir);
        if (auto bytes = disk_usage_bytes(m.dir)) m.bytes = *bytes;
        out.push_back(std::move(m));
    }
    return out;
}

Result<void> refuse_start_if_migrated(const std::filesystem::path& context_root, const ContextLayout& context,
                                      std::string_view name)
{
    auto overlay = stat_no_links(context.overlay);
    if (!overlay) return std::move(overlay).error();
    if (*overlay) return ok();
    auto kept = list_migrated_contexts(context_root);
    if (!kept) return std::move(kept).error();
    for (const auto& m : *kept) {
        if (m.name != name) continue;
        const std::string host = m.to_host.empty() ? std::string("another host") : "host " + m.to_host;
        return make_error(ErrorCode::NotFound,
                          "domain " + std::string(name) + " live-migrated to " + host + " and its context here was moved aside to " +
                              m.dir.string() + ", so it is not started here on a new empty overlay; run it on " + host +
                              " (or migrate it back here), or if it never ran there, put the context back with 'mv " +
                              m.dir.string() + " " + context.dir.string() + "' and start it again.");
    }
    return ok();
}

Result<bool> discard_migrated_context(const std::filesystem::path& context_root, std::string_view name, std::string_view uuid)
{
    if (!is_domain_uuid(uuid)) return false;
    const auto dir = context_root / migrated_context_name(name, uuid);
    auto st = stat_no_links(dir);
    if (!st) return std::move(st).error();
    if (!*st) return false;
    if (auto r = remove_context(context_root, dir); !r) return std::move(r).error();
    return true;
}

}  // namespace appshare
