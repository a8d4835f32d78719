#include "instance/garbage_collect.hpp"

#include "base/host_identity.hpp"
#include "base/interrupt.hpp"
#include "base/size_units.hpp"
#include "base/text.hpp"
#include "base/time_format.hpp"
#include "instance/arrival.hpp"
#include "instance/instance_usage.hpp"
#include "instance/lock_and_load.hpp"
#include "instance/migrated_context.hpp"
#include "store/blob_gc.hpp"
#include "store/host_usage.hpp"
#include "instance/stores.hpp"
#include "base/dir_handle.hpp"

#include <algorithm>
#include <map>

#include <sys/stat.h>
#include <unistd.h>

namespace appshare {
namespace {

using Clock = std::chrono::system_clock;

// Temporary files of record writers (a few bytes, written in microseconds) older than this
// belong to writers that died.
constexpr std::chrono::hours kStaleRecordTemporary{1};

std::string short_sha(const std::string& sha) { return sha.substr(0, 12); }

std::string record_key(const UsageRecord& r) { return r.base_sha256 + "/" + r.host + "@" + r.domain; }

bool names_digest(const UsageRecord& r, const std::string& sha)
{
    if (r.base_sha256 == sha) return true;
    return r.boot_sha256 && std::find(r.boot_sha256->begin(), r.boot_sha256->end(), sha) != r.boot_sha256->end();
}

std::string who(const UsageRecord& r) { return "domain " + r.domain + " on host " + r.host + " (" + r.state + ")"; }

std::optional<Clock::time_point> mtime_of(const std::filesystem::path& p)
{
    const auto st = stat_no_links(p);
    if (!st || !*st) return std::nullopt;
    return Clock::from_time_t((*st)->st_mtim.tv_sec);
}

class Collector {
public:
    Collector(const Config& config, const LocalDomains& local, const GcOptions& options)
        : config_(config), local_(local), o_(options), me_(this_host_name()), my_machine_(this_machine_id())
    {
        report_.dry_run = o_.dry_run;
        report_.grace = o_.grace;
        report_.host_gone = config_.host_gone;
        judge_.gone_after = config_.host_gone;
        judge_.now = now_;
        judge_.this_host = me_;
        lock_.lock_wait = o_.lock_wait;
        lock_.holder = this_process_holder("appshare gc", "garbage collection");
        lock_.on_wait = [this](const std::string& holder) { tell("waiting for a lock held by " + holder); };
    }

    Result<GcReport> run()
    {
        std::error_code ec;
        if (!std::filesystem::is_directory(config_.shared_root, ec)) {
            // Not mounted? Then neither its records nor its bases can be judged, and nothing
            // may be created where the mount should be.
            report_.warnings.push_back("the shared storage " + config_.shared_root.string() +
                                       " is not there (not mounted?), so gc looked only at the host-local copies");
            if (config_.local_root != config_.shared_root) {
                if (auto r = collect_store(local_store(config_), false, HostUsage{}); !r) return std::move(r).error();
            }
            return std::move(report_);
        }
        HostUsage usage = read_host_usage(config_.shared_root, judge_);
        for (const auto& s : usage.skipped) report_.warnings.push_back("skipped " + s);
        if (!usage.complete) {
            report_.warnings.push_back("the usage records on the shared storage could not all be read, so no shared base is removed this time");
        }
        if (!o_.dry_run) {
            if (auto w = write_host_record(config_.shared_root, this_host_record()); !w) report_.warnings.push_back(w.error().message);
        }
        settle_arrivals(usage);
        if (may_reconcile(usage)) reconcile(usage);
        note_hosts(usage);
        collect_migrated_contexts(usage);

        const BlobStore shared = shared_store(config_);
        if (auto r = collect_store(shared, true, usage); !r) return std::move(r).error();
        if (config_.local_root != config_.shared_root && !report_.interrupted) {
            const BlobStore local = local_store(config_);
            if (auto r = collect_store(local, false, usage); !r) return std::move(r).error();
        }
        if (!report_.interrupted) collect_load_guards(shared);
        if (!report_.interrupted) remove_record_temporaries(usage.temporary);
        return std::move(report_);
    }

private:
    void tell(const std::string& line) const
    {
        if (o_.notice) o_.notice(line);
    }

    // --- this host's records against libvirt --------------------------------------------

    bool may_reconcile(const HostUsage& usage)
    {
        if (!local_.exists) return false;
        const auto it = usage.hosts.find(me_);
        if (it == usage.hosts.end() || !it->second.record) return true;
        const std::string& theirs = it->second.record->machine_id;
        if (theirs.empty() || my_machine_.empty() || theirs == my_machine_) return true;
        report_.warnings.push_back("the hosts registry says another machine (machine id " + theirs +
                                   ") also calls itself " + me_ +
                                   ", so this host's usage records are not reconciled with libvirt here and keep their bases; give each host its own name");
        return false;
    }

    bool mine(const UsageRecord& r) const
    {
        return r.host == me_ && (r.machine_id.empty() || my_machine_.empty() || r.machine_id == my_machine_);
    }

    void change(std::string action, const UsageRecord& r, std::string reason)
    {
        report_.records.push_back(GcRecordChange{std::move(action), r.host, r.domain, r.base_sha256, std::move(reason)});
    }

    void reconcile(const HostUsage& usage)
    {
        for (const auto& r : usage.records) {
            if (!mine(r)) continue;
            const auto d = std::find_if(local_.appshare.begin(), local_.appshare.end(),
                                        [&](const LocalDomain& x) { return x.name == r.domain; });
            const bool here = d != local_.appshare.end();
            if (here && !d->digests.empty() && d->digests.front() == r.base_sha256) {
                if ((r.state == "running") != d->active && d->paths) rewrite(r, *d);
                continue;
            }
            std::string why = here ? "domain " + r.domain + " here now runs on base " + short_sha(d->digests.front())
                              : local_.names.count(r.domain) != 0 ? "domain " + r.domain + " here has no appshare metadata"
                                                                  : "libvirt here has no domain " + r.domain;
            const auto since = parse_utc_timestamp(r.since);
            if (since && now_ - *since < o_.lock_recent) continue;  // an install or start may be under way
            drop(r, why, !here && local_.names.count(r.domain) == 0);
        }
        for (const auto& d : local_.appshare) {
            if (!d.paths) continue;
            const bool recorded = std::any_of(usage.records.begin(), usage.records.end(), [&](const UsageRecord& r) {
                return r.host == me_ && r.domain == d.name && r.base_sha256 == d.paths->base.sha256;
            });
            if (recorded) continue;
            const UsageRecord rec = instance_usage_record(config_, *d.paths, d.active ? "running" : "stopped");
            if (!o_.dry_run) {
                if (auto w = write_usage_record(config_.shared_root, rec); !w) {
                    report_.warnings.push_back(w.error().message);
                    continue;
                }
            }
            change("written", rec, "libvirt here has domain " + d.name + " but no usage record said so");
        }
    }

    void rewrite(const UsageRecord& r, const LocalDomain& d)
    {
        const UsageRecord rec = instance_usage_record(config_, *d.paths, d.active ? "running" : "stopped");
        if (!o_.dry_run) {
            if (auto w = write_usage_record(config_.shared_root, rec); !w) {
                report_.warnings.push_back(w.error().message);
                return;
            }
        }
        change("rewritten", rec, "it said " + r.state + ", libvirt here says " + rec.state);
    }

    // Removes this host's record `r` after a last look: libvirt still has no such domain (when
    // `absent` is why), and the record is still the one read.
    void drop(const UsageRecord& r, const std::string& why, bool absent)
    {
        if (!o_.dry_run) {
            if (absent) {
                auto exists = local_.exists(r.domain);
                if (!exists) {
                    report_.warnings.push_back(exists.error().message);
                    return;
                }
                if (*exists) return;
            }
            const auto again = list_usage_records(config_.shared_root, r.base_sha256);
            const auto same = std::find_if(again.begin(), again.end(), [&](const UsageRecord& x) {
                return x.host == r.host && x.domain == r.domain && x.since == r.since && x.state == r.state;
            });
            if (same == again.end()) return;  // rewritten meanwhile: it is current
            if (auto rm = remove_usage_record(config_.shared_root, r.base_sha256, r.host, r.domain); !rm) {
                report_.warnings.push_back(rm.error().message);
                return;
            }
        }
        dropped_.insert(record_key(r));
        change("removed", r, why);
    }

    // --- contexts an incoming migration made (instance/arrival.hpp) -----------------------

    // A context still marked as arriving whose domain is not defined here: its release could
    // not tell (the shared storage did not answer). Settled as the release would have; a failed
    // arrival is moved aside, and collect_migrated_contexts then removes it.
    void settle_arrivals(const HostUsage& usage)
    {
        if (o_.dry_run || !local_.exists) return;
        auto names = list_no_links(config_.context_root);
        if (!names) {
            report_.warnings.push_back(names.error().message);
            return;
        }
        if (!*names) return;
        for (const auto& name : **names) {
            if (!check_instance_name(name) || local_.names.count(name) != 0) continue;
            auto exists = local_.exists(name);
            if (!exists) {
                report_.warnings.push_back(exists.error().message);
                continue;
            }
            if (*exists) continue;
            auto settled = settle_arrival(config_.shared_root, config_.context_root, name, usage.records, usage.complete);
            if (!settled) {
                report_.warnings.push_back(settled.error().message);
                continue;
            }
            if (settled->outcome != ArrivalOutcome::Failed) continue;
            for (const auto& r : usage.records) {
                if (!mine(r) || r.domain != name) continue;
                dropped_.insert(record_key(r));
                change("removed", r, "the incoming migration of domain " + name + " here did not complete; it runs on at host " +
                                         settled->runs_on);
            }
        }
    }

    // --- contexts kept at a migration away (instance/migrated_context.hpp) ----------------

    // Removed once the domain is not defined here and a live host records the same domain
    // (UUID) as running or defined there: then the instance is that host's.
    void collect_migrated_contexts(const HostUsage& usage)
    {
        auto kept = list_migrated_contexts(config_.context_root);
        if (!kept) {
            report_.warnings.push_back(kept.error().message);
            return;
        }
        for (const auto& m : *kept) {
            GcItem item{"migrated context", m.dir, "", m.bytes, ""};
            const auto there = std::find_if(usage.records.begin(), usage.records.end(), [&](const UsageRecord& r) {
                return r.host != me_ && r.domain == m.name && r.uuid == m.uuid && usage.host_of(r).keeps_bases() &&
                       (r.state == "running" || r.state == "stopped");
            });
            if (local_.names.count(m.name) != 0 || !local_.exists) {
                item.reason = "domain " + m.name + " is still defined here; undefine it here once it runs elsewhere";
                report_.kept.push_back(std::move(item));
                continue;
            }
            if (there == usage.records.end()) {
                item.reason = "no live host records domain " + m.name + " (UUID " + m.uuid +
                              ") as running or defined, so this may be its only copy; put it back with mv if it never migrated";
                report_.kept.push_back(std::move(item));
                continue;
            }
            item.reason = "domain " + m.name + " is " + (there->state == "running" ? "running" : "defined") + " on host " +
                          there->host + " and no longer defined here";
            if (!o_.dry_run) {
                auto exists = local_.exists(m.name);
                if (!exists) {
                    report_.warnings.push_back(exists.error().message);
                    continue;
                }
                if (*exists) continue;
                if (auto r = remove_context(config_.context_root, m.dir); !r) {
                    item.reason = r.error().message;
                    report_.skipped.push_back(std::move(item));
                    continue;
                }
            }
            removed(std::move(item));
        }
    }

    // --- hosts --------------------------------------------------------------------------

    void note_hosts(const HostUsage& usage)
    {
        for (const auto& [name, h] : usage.hosts) {
            if (h.records == 0) continue;
            if (h.status == HostStatus::Gone) {
                report_.gone_hosts.push_back(GoneHost{name, h.record->last_seen, h.unseen, h.records});
            } else if (h.status == HostStatus::Unregistered) {
                report_.warnings.push_back("host " + name + " has " +
                                           (h.records == 1 ? std::string("a usage record") : std::to_string(h.records) + " usage records") +
                                           " but no entry in the hosts registry (an older appshare?), so they keep their bases");
            }
        }
    }

    // --- why a file stays ---------------------------------------------------------------

    // Why `sha` is in use by an instance: a domain here, or a record of a host that is not gone
    // (shared store only; but not the records in `ignore`). Empty when nothing uses it.
    std::string in_use(const std::string& sha, const std::string& kind, const HostUsage* usage,
                       const std::set<std::string>& ignore) const
    {
        for (const auto& d : local_.appshare) {
            if (std::find(d.digests.begin(), d.digests.end(), sha) != d.digests.end()) {
                return "named by domain " + d.name + ", which libvirt has here";
            }
        }
        if (usage != nullptr) {
            if (!usage->complete) return "the usage records could not all be read";
            for (const auto& r : usage->records) {
                if (ignore.count(record_key(r)) != 0 || !usage->host_of(r).keeps_bases()) continue;
                if (names_digest(r, sha)) return "used by " + who(r);
                if (!is_image_kind(kind) && !r.boot_sha256) {
                    return "a usage record of " + who(r) + ", written by an older appshare, does not say which boot files it uses";
                }
            }
        }
        return {};
    }

    // Why the facts say the file was used within the grace period; empty when not.
    std::string recent_use(const BlobFacts& f) const
    {
        const auto within = [&](const std::optional<Clock::time_point>& t, std::chrono::seconds limit) {
            return t && now_ - *t < limit;
        };
        if (f.last_lock) {
            const auto since = parse_utc_timestamp(f.last_lock->since);
            if (within(since, std::max(o_.grace, o_.lock_recent))) {
                const LockHolder& h = f.last_lock->holder;
                return "its lock was taken " + format_age(std::chrono::duration_cast<std::chrono::seconds>(now_ - *since)) +
                       " ago by " + printable(h.domain) + " on host " + printable(h.host) + " (" + printable(h.purpose) + ")";
            }
        }
        if (within(f.modified, o_.grace)) return "it was loaded " + age_of(*f.modified) + " ago";
        if (within(f.verified, o_.grace)) return "it was verified " + age_of(*f.verified) + " ago";
        return {};
    }

    std::string age_of(Clock::time_point t) const
    {
        return format_age(std::chrono::duration_cast<std::chrono::seconds>(now_ - t));
    }

    std::string unused_reason(const StoredBlob& b, const BlobFacts& f, bool is_shared) const
    {
        std::optional<Clock::time_point> last = f.modified;
        if (f.verified && (!last || *f.verified > *last)) last = f.verified;
        if (f.last_lock) {
            if (auto t = parse_utc_timestamp(f.last_lock->since); t && (!last || *t > *last)) last = t;
        }
        std::string s = b.published ? "no instance uses it" : "only traces of it were left (no file)";
        s += last ? ", last used " + age_of(*last) + " ago" : std::string();
        s += " (grace " + format_age(o_.grace) + ")";
        if (const auto gone = gone_users(b.spec.sha256); is_shared && !gone.empty()) s += "; " + gone;
        return s;
    }

    // "host h3 is taken as gone, its record of domain web3 no longer keeps it", or empty.
    std::string gone_users(const std::string& sha) const
    {
        std::string s;
        for (const auto& r : gone_records_) {
            if (!names_digest(r, sha)) continue;
            s += (s.empty() ? "" : "; ") + std::string("host ") + r.host + " is taken as gone, its record of domain " +
                 r.domain + " no longer keeps it";
        }
        return s;
    }

    // --- the stores ---------------------------------------------------------------------

    Result<void> collect_store(const BlobStore& store, bool is_shared, const HostUsage& usage)
    {
        if (is_shared) {
            for (const auto& r : usage.records) {
                if (!usage.host_of(r).keeps_bases() && dropped_.count(record_key(r)) == 0) gone_records_.push_back(r);
            }
        }
        auto blobs = list_stored_blobs(store);
        if (!blobs) return std::move(blobs).error();
        for (const auto& b : *blobs) {
            if (interrupted()) {
                report_.interrupted = true;
                return ok();
            }
            collect_blob(store, b, is_shared, is_shared ? &usage : nullptr);
        }
        return ok();
    }

    GcItem item(const BlobStore& store, const StoredBlob& b, bool is_shared, std::uint64_t bytes, std::string reason) const
    {
        const bool image = is_image_kind(b.spec.kind);
        std::string what = is_shared ? (image ? "base" : "boot file") : (image ? "host-local copy" : "host-local boot file");
        return GcItem{std::move(what), store.path_of(b.spec), b.spec.sha256, bytes, std::move(reason)};
    }

    void collect_blob(const BlobStore& store, const StoredBlob& b, bool is_shared, const HostUsage* usage)
    {
        const BlobFacts facts = blob_facts(store, b);
        // The records this run removed (or, with --dry-run, would remove) keep nothing.
        std::string keep = in_use(b.spec.sha256, b.spec.kind, usage, dropped_);
        if (keep.empty()) keep = recent_use(facts);
        if (!keep.empty()) {
            report_.kept.push_back(item(store, b, is_shared, facts.bytes, keep));
            if (!b.temporary.empty()) remove_temporaries(store, b);
            return;
        }
        if (o_.dry_run) {
            if (lock_is_held(store.lock_path_of(b.spec))) {
                report_.skipped.push_back(item(store, b, is_shared, facts.bytes, busy_reason(store, b)));
                return;
            }
            removed(item(store, b, is_shared, facts.bytes, unused_reason(b, facts, is_shared)));
            for (const auto& t : b.temporary) removed(temporary_item(t, b.spec.sha256, allocated_bytes(t)));
            return;
        }
        const KeepCheck keep_now = [&](const BlobFacts& f) {
            // Under the lock: the records as they are now (a record rewritten since counts
            // again), and the facts as the lock shows them.
            std::optional<HostUsage> again;
            if (usage != nullptr) {
                again = read_host_usage(config_.shared_root, judge_, is_image_kind(b.spec.kind) ? b.spec.sha256 : std::string());
            }
            auto why = in_use(b.spec.sha256, b.spec.kind, again ? &*again : nullptr, {});
            return why.empty() ? recent_use(f) : why;
        };
        auto done = remove_unused_blob(store, b, lock_, keep_now);
        if (!done) {
            skip(store, b, is_shared, facts.bytes, done.error());
            return;
        }
        if (!done->removed) {
            report_.kept.push_back(item(store, b, is_shared, facts.bytes, done->kept + " (seen under its lock)"));
            return;
        }
        removed(item(store, b, is_shared, done->bytes, unused_reason(b, facts, is_shared)));
        for (const auto& [t, bytes] : done->temporary) removed(temporary_item(t, b.spec.sha256, bytes));
        if (is_shared && is_image_kind(b.spec.kind)) forget_gone_records(b.spec.sha256);
    }

    std::string busy_reason(const BlobStore& store, const StoredBlob& b) const
    {
        return "its lock is held by " + describe_lock_holder(store.lock_path_of(b.spec)) + "; run gc again later";
    }

    void skip(const BlobStore& store, const StoredBlob& b, bool is_shared, std::uint64_t bytes, const Error& e)
    {
        if (e.code == ErrorCode::Interrupted) {
            report_.interrupted = true;
            return;
        }
        const std::string why = e.code == ErrorCode::LockTimeout ? busy_reason(store, b) : message_clause(e.message);
        report_.skipped.push_back(item(store, b, is_shared, bytes, why));
    }

    // A kept file's temporary files, left by loaders that died: removed under its lock.
    void remove_temporaries(const BlobStore& store, const StoredBlob& b)
    {
        const std::string reason = "left by a load that did not finish";
        if (o_.dry_run) {
            const bool busy = lock_is_held(store.lock_path_of(b.spec));
            for (const auto& t : b.temporary) {
                auto i = temporary_item(t, b.spec.sha256, allocated_bytes(t), reason);
                if (busy) {
                    i.reason = "a load holds its lock: " + busy_reason(store, b);
                    report_.skipped.push_back(std::move(i));
                } else {
                    removed(std::move(i));
                }
            }
            return;
        }
        auto done = remove_dead_temporaries(store, b, lock_);
        if (!done) {
            if (done.error().code == ErrorCode::Interrupted) {
                report_.interrupted = true;
                return;
            }
            for (const auto& t : b.temporary) {
                auto i = temporary_item(t, b.spec.sha256, allocated_bytes(t));
                i.reason = done.error().code == ErrorCode::LockTimeout ? "a load holds its lock: " + busy_reason(store, b)
                                                                      : message_clause(done.error().message);
                report_.skipped.push_back(std::move(i));
            }
            return;
        }
        for (const auto& [t, bytes] : done->temporary) removed(temporary_item(t, b.spec.sha256, bytes, reason));
    }

    static std::uint64_t allocated_bytes(const std::filesystem::path& p)
    {
        const auto st = stat_no_links(p);
        return st && *st ? static_cast<std::uint64_t>((*st)->st_blocks) * 512 : 0;
    }

    static GcItem temporary_item(const std::filesystem::path& p, const std::string& sha, std::uint64_t bytes,
                                 std::string reason = "left by a load that did not finish")
    {
        return GcItem{"temporary file", p, sha, bytes, std::move(reason)};
    }

    void removed(GcItem i)
    {
        report_.bytes_freed += i.bytes;
        report_.removed.push_back(std::move(i));
    }

    // --- load guards ---------------------------------------------------------------------
    // A base's load guard (instance/lock_and_load.hpp) is made in local_root at the first start
    // on this host and serves no one once neither store here has the base: removed while held,
    // as a blob's lock is (a start waiting on it takes the guard at its name again). A guard
    // held now belongs to a start loading that base, and is left.
    void collect_load_guards(const BlobStore& shared)
    {
        const auto names = list_no_links(config_.local_root);
        if (!names || !*names) return;
        const BlobStore local = local_store(config_);
        const auto present = [](const std::filesystem::path& p) {
            const auto st = stat_no_links(p);
            return !st || *st;  // unreadable counts as present: keep the guard
        };
        for (const auto& name : **names) {
            const auto guard = load_guard_of(name);
            if (!guard) continue;
            const BlobSpec spec{guard->sha256, guard->kind, "", std::nullopt};
            if (present(shared.path_of(spec)) || present(local.path_of(spec))) continue;
            const auto path = config_.local_root / name;
            GcItem item{"load guard", path, guard->sha256, 0, "neither store on this host holds its base any more"};
            if (o_.dry_run) {
                if (!lock_is_held(path)) removed(std::move(item));
                continue;
            }
            auto held = FileLock::acquire(path, std::chrono::milliseconds(0), lock_.holder);
            if (!held) continue;
            if (remove_no_links(path)) removed(std::move(item));
        }
    }

    // The records of gone hosts that named a removed base: nothing will ever release them.
    void forget_gone_records(const std::string& sha)
    {
        for (const auto& r : gone_records_) {
            if (r.base_sha256 != sha) continue;
            if (auto rm = remove_usage_record(config_.shared_root, r.base_sha256, r.host, r.domain); !rm) {
                report_.warnings.push_back(rm.error().message);
                continue;
            }
            change("removed", r, "host " + r.host + " is taken as gone and base " + short_sha(sha) + " was removed");
        }
        ::rmdir((config_.shared_root / "usage" / sha).c_str());  // only when empty
    }

    void remove_record_temporaries(const std::vector<std::filesystem::path>& temporary)
    {
        for (const auto& t : temporary) {
            const auto m = mtime_of(t);
            if (!m || now_ - *m < kStaleRecordTemporary) continue;
            const auto bytes = allocated_bytes(t);
            if (!o_.dry_run && !remove_no_links(t)) continue;
            removed(GcItem{"temporary file", t, "", bytes, "left by a record writer that did not finish, " + age_of(*m) + " ago"});
        }
    }

    const Config& config_;
    const LocalDomains& local_;
    const GcOptions& o_;
    const std::string me_;
    const std::string my_machine_;
    const Clock::time_point now_ = Clock::now();
    HostJudgement judge_;
    EnsureOptions lock_;
    GcReport report_;
    std::set<std::string> dropped_;
    std::vector<UsageRecord> gone_records_;
};

nlohmann::json items_json(const std::vector<GcItem>& items)
{
    nlohmann::json out = nlohmann::json::array();
    for (const auto& i : items) {
        out.push_back({{"what", i.what}, {"path", i.path.string()}, {"sha256", i.sha256}, {"bytes", i.bytes}, {"reason", i.reason}});
    }
    return out;
}

std::string item_line(const std::string& verb, const GcItem& i, bool with_size)
{
    std::string s = verb + " " + i.what + " " + printable(i.path.string());
    if (with_size) s += " (" + format_size(i.bytes) + ")";
    return s + ": " + i.reason + "\n";
}

}  // namespace

Result<GcReport> collect_garbage(const Config& config, const LocalDomains& local, const GcOptions& options)
{
    return Collector(config, local, options).run();
}

std::string gc_report_text(const GcReport& r)
{
    std::string s;
    for (const auto& h : r.gone_hosts) {
        s += "host " + h.name + " was last seen " + h.last_seen + " (" + format_age(h.unseen) + " ago, more than " +
             format_age(r.host_gone) + "): taken as gone, its " + std::to_string(h.records) +
             (h.records == 1 ? " usage record no longer keeps a base\n" : " usage records no longer keep a base\n");
    }
    for (const auto& c : r.records) {
        s += (r.dry_run ? "would have " : "") + c.action + " the usage record of domain " + c.domain + " on host " + c.host +
             " (base " + c.base_sha256.substr(0, 12) + "): " + c.reason + "\n";
    }
    for (const auto& i : r.kept) s += item_line("kept", i, false);
    for (const auto& i : r.skipped) s += item_line("skipped", i, false);
    for (const auto& i : r.removed) s += item_line(r.dry_run ? "would remove" : "removed", i, true);
    for (const auto& w : r.warnings) s += "warning: " + w + "\n";
    const std::string files = std::to_string(r.removed.size()) + (r.removed.size() == 1 ? " file" : " files");
    if (r.dry_run) {
        s += "would free " + format_size(r.bytes_freed) + " (" + files + "); nothing was removed (--dry-run).\n";
    } else {
        s += "freed " + format_size(r.bytes_freed) + " (" + files + " removed).\n";
    }
    if (r.interrupted) s += "interrupted: gc stopped before looking at every file; run it again.\n";
    return s;
}

nlohmann::json gc_report_json(const GcReport& r)
{
    nlohmann::json records = nlohmann::json::array();
    for (const auto& c : r.records) {
        records.push_back({{"action", c.action}, {"host", c.host}, {"domain", c.domain},
                           {"base_sha256", c.base_sha256}, {"reason", c.reason}});
    }
    nlohmann::json gone = nlohmann::json::array();
    for (const auto& h : r.gone_hosts) {
        gone.push_back({{"name", h.name}, {"last_seen", h.last_seen}, {"unseen_seconds", h.unseen.count()}, {"records", h.records}});
    }
    return {{"dry_run", r.dry_run},
            {"grace_seconds", r.grace.count()},
            {"host_gone_seconds", r.host_gone.count()},
            {"removed", items_json(r.removed)},
            {"kept", items_json(r.kept)},
            {"skipped", items_json(r.skipped)},
            {"records", records},
            {"gone_hosts", gone},
            {"warnings", r.warnings},
            {"bytes_freed", r.bytes_freed},
            {"interrupted", r.interrupted}};
}

}  // namespace appshare
