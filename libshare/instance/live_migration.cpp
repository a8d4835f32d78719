#include "instance/live_migration.hpp"

#include "base/dir_handle.hpp"
#include "base/host_identity.hpp"
#include "base/text.hpp"
#include "base/time_format.hpp"
#include "instance/cloud_init_seed.hpp"
#include "instance/instance_state.hpp"
#include "instance/migrated_context.hpp"
#include "store/usage_records.hpp"

#include <cerrno>
#include <cstring>

#include <fcntl.h>

namespace appshare {
namespace {

// QEMU's image locks (block/file-posix.c): one byte per permission from 100, one per shared
// permission from 200; a QEMU holds some of them on every image it has open.
constexpr off_t kQemuLockStart = 100;
constexpr off_t kQemuLockBytes = 200;

void say(const LoadOptions& options, const std::string& line)
{
    if (options.log) options.log(line);
}

// The context of a host-local stay this host left behind: instance.json names this host, and
// no QEMU has the overlay open (on a context others share, the source's QEMU has).
Result<bool> stale_own_context(const InstancePaths& paths)
{
    auto state = load_instance_state(paths.context.dir);
    if (!state) return std::move(state).error();
    if (!*state || (*state)->host != this_host_name()) return false;
    auto in_use = image_in_use(paths.context.overlay);
    if (!in_use) return std::move(in_use).error();
    return !*in_use;
}

// A context on storage other hosts share may run elsewhere right now: a QEMU there holds its
// overlay's image locks, and its instance.json names that host. A start here would fail anyway
// (QEMU's own image locking, or the lock manager's lease), but only after lock-and-load had
// rewritten instance.json, the boot links and the seed under the running guest; so it is
// refused before anything is touched. On the destination of a live migration libvirt runs
// `prepare` too, while the source's QEMU holds the locks: there instance.json names this host
// already (prepare_incoming wrote it at `migrate begin`), and the start goes on.
Result<void> refuse_start_if_running_elsewhere(const InstancePaths& paths)
{
    auto state = load_instance_state(paths.context.dir);
    if (!state) return std::move(state).error();
    const std::string me = this_host_name();
    if (*state && (*state)->host == me) return ok();
    auto in_use = image_in_use(paths.context.overlay);
    if (!in_use) return std::move(in_use).error();
    if (!*in_use) return ok();
    const std::string where = *state && !(*state)->host.empty() ? "host " + (*state)->host + " (its instance.json says)"
                                                                : std::string("another host");
    return make_error(ErrorCode::DomainRunning,
                      "domain " + paths.domain + " runs elsewhere: a QEMU on " + where + " holds the image locks of its overlay " +
                          paths.context.overlay.string() + ", so it is not started a second time on " + me +
                          "; stop it there, or move it here with 'virsh migrate --live'.");
}

}  // namespace

Result<bool> image_in_use(const std::filesystem::path& overlay)
{
    auto st = stat_no_links(overlay);
    if (!st) return std::move(st).error();
    if (!*st) return false;
    auto fd = open_checked(overlay, O_RDONLY | O_CLOEXEC, FileType::Regular);
    if (!fd) return std::move(fd).error();
    struct flock probe {};
    probe.l_type = F_WRLCK;  // conflicts with any lock another open file description holds
    probe.l_whence = SEEK_SET;
    probe.l_start = kQemuLockStart;
    probe.l_len = kQemuLockBytes;
    if (::fcntl(fd->get(), F_OFD_GETLK, &probe) != 0) {
        return make_error(ErrorCode::Io, "cannot test whether " + overlay.string() + " is in use (" + std::strerror(errno) +
                                             "); check that its file system supports byte-range locks.");
    }
    return probe.l_type != F_UNLCK;
}

Result<PrepareOutcome> prepare_start(const Config& config, const InstancePaths& paths, const LoadOptions& options)
{
    if (auto r = refuse_start_if_migrated(config.context_root, paths.context, paths.domain); !r) return std::move(r).error();
    if (auto r = refuse_start_if_running_elsewhere(paths); !r) return std::move(r).error();
    return prepare_instance(config, paths, options);
}

Result<PrepareOutcome> prepare_incoming(const Config& config, const InstancePaths& paths, const IncomingDomain& domain,
                                        const LoadOptions& options)
{
    const auto& context = paths.context;
    const std::string& uuid = domain.uuid;
    if (domain.seed_target && !has_seed(context)) {
        return make_error(ErrorCode::NotFound,
                          "domain " + paths.domain + " has a cloud-init seed (" + context.seed_iso.string() + ", CD-ROM " +
                              *domain.seed_target + ") whose files are only in its context on the source host, and a live " +
                              "migration does not copy read-only disks, so it cannot migrate here with host-local contexts; " +
                              "once cloud-init has run in the guest, eject the seed on the source with 'virsh change-media " +
                              paths.domain + " " + *domain.seed_target + " --eject --live --config' and migrate again, " +
                              "or keep the contexts on the shared storage (context_root).");
    }
    auto dir = stat_no_links(context.dir);
    if (!dir) return std::move(dir).error();
    const bool existed = dir->has_value();
    bool replaced = false;
    if (existed) {
        auto stale = stale_own_context(paths);
        if (!stale) return std::move(stale).error();
        if (*stale) {
            LockHolder holder = options.holder;
            holder.purpose = "replace a stale overlay";
            auto lock = lock_context(context, lock_wait_left(config, options), holder);
            if (!lock) return std::move(lock).error();
            if (auto r = remove_no_links(context.overlay); !r) return std::move(r).error();
            replaced = true;
            say(options, "replaced the overlay this host kept from an earlier stay of the instance: the incoming "
                         "migration copies the current one");
        }
    } else {
        say(options, "incoming migration: making the context " + context.dir.string());
    }
    auto out = prepare_instance(config, paths, options);
    if (!out && !existed) {
        if (auto r = remove_context(config.context_root, context.dir); !r) {
            say(options, "the context made for the refused migration could not be removed: " + r.error().message);
        }
    }
    if (out && (!existed || replaced)) {
        if (auto r = mark_arriving(context, uuid); !r) {
            say(options, "the context made for the incoming migration could not be marked as arriving: " + r.error().message);
        }
        // The context's data comes from this migration, so a copy kept from an earlier stay is out of date.
        auto gone = discard_migrated_context(config.context_root, paths.domain, uuid);
        if (!gone) say(options, "the context kept from an earlier migration away could not be removed: " + gone.error().message);
        if (gone && *gone) say(options, "removed the context kept from an earlier migration away: the incoming migration brings the current one");
    }
    return out;
}

Result<Departure> after_release(const Config& config, const InstancePaths& paths, std::string_view uuid)
{
    Departure d;
    if (!is_domain_uuid(uuid)) return d;
    const std::string me = this_host_name();
    const auto scan = scan_usage_records(config.shared_root, paths.base.sha256);
    const auto& records = scan.records;
    std::optional<std::chrono::system_clock::time_point> mine;
    for (const auto& r : records) {
        if (r.host != me || r.domain != paths.domain) continue;
        mine = parse_utc_timestamp(r.since);
        d.ran_here = r.state == "running";
    }
    for (const auto& r : records) {
        if (r.host == me || r.domain != paths.domain || r.uuid != uuid || r.state != "running") continue;
        const auto since = parse_utc_timestamp(r.since);
        if (!since || (mine && *since < *mine)) continue;
        d.migrated = true;
        d.to_host = r.host;
    }
    if (!d.migrated) {
        auto settled = settle_arrival(config.shared_root, config.context_root, paths.domain, records, scan.dir.complete);
        if (!settled) return std::move(settled).error();
        d.arrival = *settled;
        return d;
    }
    if (auto r = remove_usage_record(config.shared_root, paths.base.sha256, me, paths.domain); !r) {
        return std::move(r).error();
    }
    // A context on the shared storage is the one the destination runs on: its QEMU holds the
    // overlay's locks, or instance.json names the destination already.
    auto state = load_instance_state(paths.context.dir);
    if (!state) return std::move(state).error();
    if (*state && (*state)->host != me) return d;
    auto in_use = image_in_use(paths.context.overlay);
    if (!in_use) return std::move(in_use).error();
    if (*in_use) return d;
    auto dir = stat_no_links(paths.context.dir);
    if (!dir) return std::move(dir).error();
    if (!*dir) return d;
    auto kept = move_context_aside(config.context_root, paths.context, paths.domain, uuid, d.to_host);
    if (!kept) return std::move(kept).error();
    d.kept_at = kept->dir;
    return d;
}

}  // namespace appshare
