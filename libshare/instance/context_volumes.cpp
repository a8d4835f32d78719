#include "instance/context_volumes.hpp"

#include "base/dir_handle.hpp"
#include "instance/context.hpp"

#include <algorithm>
#include <set>

#include <sys/stat.h>

namespace appshare {
namespace {

constexpr std::string_view kLinkSuffix = ".qcow2";

// Instance folders in the context root that hold an overlay; anything else (a link, a file,
// a folder without an overlay, a name no instance can have) is not an instance's.
Result<std::set<std::string>> instances_with_overlay(const DirHandle& root)
{
    auto names = root.names();
    if (!names) return std::move(names).error();
    std::set<std::string> out;
    for (const auto& name : *names) {
        if (!check_instance_name(name)) continue;
        auto dir = root.sub(name);
        if (!dir) continue;
        auto st = dir->stat("disk.qcow2");
        if (st && *st && S_ISREG((*st)->st_mode)) out.insert(name);
    }
    return out;
}

std::filesystem::path link_target(const std::string& instance)
{
    return std::filesystem::path("..") / instance / "disk.qcow2";
}

}  // namespace

std::filesystem::path context_volumes_dir(const std::filesystem::path& context_root)
{
    return context_root / std::string(kContextVolumesFolder);
}

Result<VolumeLinkChanges> sync_context_volumes(const std::filesystem::path& context_root)
{
    auto root = DirHandle::open(context_root);
    if (!root) return std::move(root).error();
    auto volumes = root->sub(kContextVolumesFolder, DirHandle::Create::Yes, kContextDirMode);
    if (!volumes) return std::move(volumes).error();
    auto wanted = instances_with_overlay(*root);
    if (!wanted) return std::move(wanted).error();
    auto present = volumes->names();
    if (!present) return std::move(present).error();

    VolumeLinkChanges changes;
    std::set<std::string> kept;
    for (const auto& link : *present) {
        if (link.size() <= kLinkSuffix.size() || !link.ends_with(kLinkSuffix)) continue;
        const auto target = volumes->read_link(link);
        if (!target) continue;  // not a link: not appshare's
        const std::string instance = link.substr(0, link.size() - kLinkSuffix.size());
        if (wanted->count(instance) != 0 && *target == link_target(instance)) {
            kept.insert(instance);
            continue;
        }
        if (auto r = volumes->remove(link); !r) return std::move(r).error();
        changes.removed.push_back(link);
    }
    for (const auto& instance : *wanted) {
        if (kept.count(instance) != 0) continue;
        const std::string link = instance + std::string(kLinkSuffix);
        if (auto r = volumes->symlink(link_target(instance), link); !r) return std::move(r).error();
        changes.added.push_back(link);
    }
    // Not flushed: the links are derived, every refresh remakes them from the contexts, so links
    // a crash loses only wait for the next refresh (base/sync_batch.hpp has the rule).
    return changes;
}

}  // namespace appshare
