#include "instance/arrival.hpp"

#include "base/atomic_file.hpp"
#include "base/dir_handle.hpp"
#include "base/host_identity.hpp"
#include "base/small_file.hpp"
#include "base/text.hpp"
#include "instance/migrated_context.hpp"

#include <algorithm>

namespace appshare {
namespace {

constexpr std::string_view kMark = "arriving";
constexpr std::size_t kMaxMarkBytes = 64;

std::filesystem::path mark_path(const ContextLayout& context) { return context.dir / kMark; }

}  // namespace

Result<void> mark_arriving(const ContextLayout& context, std::string_view uuid)
{
    auto dir = DirHandle::open(context.dir);
    if (!dir) return std::move(dir).error();
    auto mark = TempFile::create_in(*dir, kMark, 0600);
    if (!mark) return std::move(mark).error();
    if (auto w = mark->write(std::string(uuid) + "\n"); !w) return std::move(w).error();
    return mark->commit(0600);
}

Result<std::optional<std::string>> arriving_uuid(const ContextLayout& context)
{
    const auto f = read_small_file(mark_path(context), kMaxMarkBytes);
    if (f.problem == FileProblem::Missing) return std::optional<std::string>();
    if (!f) {
        return make_error(ErrorCode::Io, "cannot read " + mark_path(context).string() + " (" + f.why() +
                                             "); remove it if the instance runs on this host.");
    }
    std::string uuid = f.text;
    while (!uuid.empty() && (uuid.back() == '\n' || uuid.back() == ' ')) uuid.pop_back();
    if (!is_domain_uuid(uuid)) return std::optional<std::string>();
    return std::optional<std::string>(uuid);
}

Result<void> clear_arriving(const ContextLayout& context)
{
    auto st = stat_no_links(mark_path(context));
    if (!st) return std::move(st).error();
    if (!*st) return ok();
    return remove_no_links(mark_path(context));
}

Result<ArrivalSettled> settle_arrival(const std::filesystem::path& shared_root, const std::filesystem::path& context_root,
                                      std::string_view name, const std::vector<UsageRecord>& records, bool complete)
{
    ArrivalSettled s;
    const ContextLayout context = context_layout(context_root, name);
    auto uuid = arriving_uuid(context);
    if (!uuid) return std::move(uuid).error();
    if (!*uuid) return s;
    const std::string me = this_host_name();
    const auto there = std::find_if(records.begin(), records.end(), [&](const UsageRecord& r) {
        return r.host != me && r.domain == name && r.uuid == **uuid && r.state == "running";
    });
    if (there == records.end()) {
        if (!complete) {
            s.outcome = ArrivalOutcome::Undecided;
            return s;
        }
        if (auto r = clear_arriving(context); !r) return std::move(r).error();
        s.outcome = ArrivalOutcome::Arrived;
        return s;
    }
    for (const auto& r : records) {
        if (r.host != me || r.domain != name) continue;
        if (auto rm = remove_usage_record(shared_root, r.base_sha256, me, name); !rm) return std::move(rm).error();
    }
    auto kept = move_context_aside(context_root, context, name, **uuid, there->host);
    if (!kept) return std::move(kept).error();
    s.outcome = ArrivalOutcome::Failed;
    s.runs_on = there->host;
    s.kept_at = kept->dir;
    return s;
}

}  // namespace appshare
