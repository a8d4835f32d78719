#include "instance/lock_and_load.hpp"

#include "instance/cloud_init_seed.hpp"

#include "base/bounded_call.hpp"
#include "store/remote_source.hpp"
#include "base/atomic_file.hpp"
#include "base/dir_handle.hpp"
#include "base/host_identity.hpp"
#include "base/json_text.hpp"
#include "base/sha256.hpp"
#include "base/time_format.hpp"
#include "instance/stores.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>

#include <sys/stat.h>

namespace appshare {
namespace {

void say(const LoadOptions& o, const std::string& line)
{
    if (o.log) o.log(line);
}

bool regular_file_at(const std::filesystem::path& p)
{
    const auto st = stat_no_links(p);
    return st && *st && S_ISREG((*st)->st_mode);
}

// The store that is not `target` (shared <-> local).
BlobStore other_store(const Config& config, const BlobStore& target)
{
    return target.dir() == config.shared_root ? local_store(config) : shared_store(config);
}

using Clock = std::chrono::steady_clock;

// Why a phase failed, in a few words for the sentence libvirt shows (details go to the log).
std::string short_reason(const Error& e)
{
    switch (e.code) {
    case ErrorCode::LockTimeout: return "its lock stayed busy";
    case ErrorCode::LoadFailed: return "no source could provide a verified copy";
    case ErrorCode::DigestMismatch: return "the copy is damaged";
    case ErrorCode::UnsafeImage: return "the image was refused as unsafe";
    case ErrorCode::UnsafePath: return "a path was refused as unsafe";
    case ErrorCode::Io: return "the storage failed";
    case ErrorCode::Interrupted: return "the start was interrupted";
    default: return "it failed";
    }
}

// What a start logs when it finds a lock busy: the holder, as the holder recorded itself.
FileLock::WaitNotice wait_notice(const LogFn& log)
{
    return [log](const std::string& holder) {
        if (log) log("waiting for a lock held by " + holder);
    };
}

EnsureOptions ensure_options(const Config& config, const LoadOptions& o, const std::string& purpose)
{
    EnsureOptions e;
    e.lock_wait = lock_wait_left(config, o);
    e.holder = o.holder;
    e.holder.purpose = purpose;
    e.log = o.log;
    e.on_wait = wait_notice(o.log);
    return e;
}

// Writes instance.json unless it already says exactly this mode and base; a state whose mode
// does not change keeps its "since" and "reason". Returns the state the instance is now in and
// whether it was written.
Result<std::pair<InstanceState, bool>> record_state(const InstancePaths& paths, const std::optional<InstanceState>& old,
                                                    InstanceMode mode, const std::filesystem::path& base,
                                                    const std::string& reason)
{
    const std::string host = this_host_name();
    if (old && old->mode == mode && old->base == base && old->host == host) return std::pair{*old, false};
    InstanceState s;
    s.mode = mode;
    s.base = base;
    s.host = host;
    const bool mode_changed = !old || old->mode != mode;
    s.since = mode_changed || old->since.empty() ? utc_timestamp_now() : old->since;
    s.reason = mode_changed || old->reason.empty() ? reason : old->reason;
    if (auto w = save_instance_state(paths.context.dir, s); !w) return std::move(w).error();
    return std::pair{std::move(s), true};
}

std::string outcome_text(const Result<PrepareOutcome>& r)
{
    nlohmann::json j;
    if (r) {
        j = {{"mode", std::string(instance_mode_name(r->mode))}, {"base", r->base.string()}, {"switched", r->switched},
             {"base_loaded", r->base_loaded}, {"changed", r->changed}, {"reason", r->reason}};
    } else {
        j = {{"error", static_cast<int>(r.error().code)}, {"message", r.error().message}};
    }
    return json_text(j);
}

Result<PrepareOutcome> outcome_from(const std::string& text)
{
    const auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return make_error(ErrorCode::Internal, "the shared-storage worker answered nonsense");
    if (j.contains("error")) return Error{static_cast<ErrorCode>(j.value("error", 1)), j.value("message", std::string())};
    PrepareOutcome out;
    out.mode = j.value("mode", std::string()) == "independent" ? InstanceMode::Independent : InstanceMode::Shared;
    out.base = j.value("base", std::string());
    out.switched = j.value("switched", false);
    out.base_loaded = j.value("base_loaded", false);
    out.changed = j.value("changed", false);
    out.reason = j.value("reason", std::string());
    return out;
}

// Keeps host-local copies of the boot files next to their shared ones (they are small). The
// domain boots from them in either mode (instance/instance_paths.hpp, context_target: libvirt
// chowns what <kernel> and <initrd> name), and they let an instance boot as an independent entity
// when the shared storage stops answering.
Result<void> keep_local_boot_copies(const Config& config, const InstancePaths& paths, const LoadOptions& options)
{
    const BlobStore local = local_store(config);
    for (const auto* boot : paths.boot_files()) {
        const auto shared_copy = shared_store(config).path_of(boot->spec);
        auto r = local.ensure(boot->spec, {store_file_source(shared_copy, source_limits(config))},
                              ensure_options(config, options, "keep a local " + boot->spec.kind));
        if (!r) return std::move(r).error();
    }
    return ok();
}

// The shared attempt of a start, `work`, in a worker process that is abandoned when the shared
// storage makes no progress for storage_timeout (`answered` then turns false). Its log lines
// reach options.log.
Result<PrepareOutcome> on_shared_storage(const Config& config, const LoadOptions& options,
                                         const std::function<Result<PrepareOutcome>(const LoadOptions&)>& work,
                                         bool& answered)
{
    BoundedOptions bounded;
    bounded.stall = std::chrono::duration_cast<std::chrono::milliseconds>(config.storage_timeout);
    bounded.on_line = options.log;
    bounded.what = "the shared storage " + config.shared_root.string();
    auto text = bounded_call(
        [&](const LineFn& send_line) {
            LoadOptions in_worker = options;
            in_worker.log = send_line;
            return outcome_text(work(in_worker));
        },
        bounded);
    if (!text) {
        answered = text.error().code != ErrorCode::Io;  // bounded_call's only Io error is a stall
        return std::move(text).error();
    }
    return outcome_from(*text);
}

// Takes the base's load guard within `wait`. True when held (until `guard` goes; the
// shared-storage worker inherits it), false when another start or its abandoned worker still
// holds it: this start must then load nothing.
Result<bool> take_load_guard(const Config& config, const InstancePaths& paths, const LoadOptions& options,
                             std::chrono::milliseconds wait, std::optional<FileLock>& guard)
{
    if (auto d = make_dirs(config.local_root, kStoreDirMode); !d) {
        say(options, "cannot take the load guard of this base (" + message_clause(d.error().message) + "); going on without it");
        return true;
    }
    LockHolder holder = options.holder;
    holder.purpose = "load base on this host";
    const auto path = load_guard_path(config, paths);
    auto lock = FileLock::acquire(path, wait, holder, wait.count() > 0 ? wait_notice(options.log) : FileLock::WaitNotice{});
    if (lock) {
        guard.emplace(std::move(*lock));
        return true;
    }
    if (lock.error().code == ErrorCode::Interrupted) return std::move(lock).error();
    if (lock.error().code != ErrorCode::LockTimeout) {
        // A host-local folder that cannot be written is no reason to refuse a start on the
        // shared base; it only costs the guard.
        say(options, "cannot take the load guard " + path.string() + " (" + message_clause(lock.error().message) +
                         "); going on without it");
        return true;
    }
    say(options, "another load of base " + paths.base.sha256.substr(0, 12) + " is in flight on this host (" +
                     describe_lock_holder(path) + ")" +
                     (wait.count() > 0 ? "; this start copies nothing" : "; trying the copies already verified first"));
    return false;
}

Error load_in_flight(const InstancePaths& paths)
{
    return make_error(ErrorCode::LockTimeout, "domain " + paths.domain + " cannot start: base " +
                                                  paths.base.sha256.substr(0, 12) +
                                                  " is still being loaded on this host by another start and no verified"
                                                  " copy is there yet (see the appshare-hook log); start it again once that load ends.");
}

}  // namespace

std::chrono::milliseconds lock_wait_left(const Config& config, const LoadOptions& o)
{
    if (o.lock_deadline == Clock::time_point::max()) {
        return std::chrono::duration_cast<std::chrono::milliseconds>(config.lock_wait);
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(o.lock_deadline - Clock::now());
    return std::max(left, std::chrono::milliseconds(0));
}

LoadOptions start_phase(const Config& config, const LoadOptions& o)
{
    LoadOptions p = o;
    p.lock_deadline = Clock::now() + config.lock_wait;
    return p;
}

constexpr std::string_view kLoadGuardSuffix = ".load.lock";

std::filesystem::path load_guard_path(const Config& config, const InstancePaths& paths)
{
    return config.local_root / (paths.base.sha256 + "." + paths.base.kind + std::string(kLoadGuardSuffix));
}

std::optional<LoadGuardName> load_guard_of(std::string_view file_name)
{
    if (file_name.size() <= 65 + kLoadGuardSuffix.size() || !file_name.ends_with(kLoadGuardSuffix)) return std::nullopt;
    const auto sha = file_name.substr(0, 64);
    const auto kind = file_name.substr(65, file_name.size() - 65 - kLoadGuardSuffix.size());
    if (file_name[64] != '.' || !is_sha256_digest(sha) || !is_image_kind(kind)) return std::nullopt;
    return LoadGuardName{std::string(sha), std::string(kind)};
}

SourceLimits source_limits(const Config& config)
{
    SourceLimits limits;
    limits.deadline = Clock::now() + config.load_timeout;
    limits.max_bytes = config.max_base_bytes;
    return limits;
}

std::vector<BlobSource> base_sources(const Config& config, const InstancePaths& paths, const BlobStore& target,
                                     const LoadOptions& options)
{
    std::vector<BlobSource> sources;
    if (!options.may_load) return sources;
    const SourceLimits limits = source_limits(config);
    const auto other = other_store(config, target).path_of(paths.base);
    if (!options.skip_other_store && regular_file_at(other)) sources.push_back(store_file_source(other, limits));
    for (const auto& f : paths.source_files) sources.push_back(allowed_file_source(f, config.allowed_source_dirs, limits));
    HttpOptions http;
    http.limits = limits;
    for (const auto& u : paths.source_urls) sources.push_back(http_source(u, config.allowed_url_prefixes, http));
    return sources;
}

Result<bool> ensure_instance_files(const Config& config, const InstancePaths& paths, const BlobStore& store,
                                   const LoadOptions& options)
{
    bool loaded = false;
    auto base = store.ensure(paths.base, base_sources(config, paths, store, options),
                             ensure_options(config, options, "load base"));
    if (!base) return std::move(base).error();
    loaded = base->action == EnsureOutcome::Action::Loaded;
    const auto other = other_store(config, store);
    for (const auto* boot : paths.boot_files()) {
        std::vector<BlobSource> sources;
        if (options.may_load && !options.skip_other_store && regular_file_at(other.path_of(boot->spec))) {
            sources.push_back(store_file_source(other.path_of(boot->spec), source_limits(config)));
        }
        auto r = store.ensure(boot->spec, sources, ensure_options(config, options, "load " + boot->spec.kind));
        if (!r) return std::move(r).error();
        loaded = loaded || r->action == EnsureOutcome::Action::Loaded;
    }
    return loaded;
}

Result<PrepareOutcome> settle_instance(const Config& config, const InstancePaths& paths, InstanceMode mode,
                                       bool loaded, const std::optional<InstanceState>& old, const std::string& reason,
                                       const LogFn& log)
{
    const BlobStore shared = shared_store(config);
    const BlobStore local = local_store(config);
    const BlobStore& store = mode == InstanceMode::Shared ? shared : local;
    const BlobStore& other = mode == InstanceMode::Shared ? local : shared;
    auto pointed = point_context_at(paths.context, context_target(paths, store, other, local), log);
    if (!pointed) return std::move(pointed).error();
    PrepareOutcome out;
    out.mode = mode;
    out.base = store.path_of(paths.base);
    out.base_loaded = loaded;
    auto recorded = record_state(paths, old, mode, out.base, reason);
    if (!recorded) return std::move(recorded).error();
    out.changed = *pointed || recorded->second;
    if (mode == InstanceMode::Independent) out.reason = recorded->first.reason;
    return out;
}

namespace {

// One attempt of prepare_instance, its caller holding the instance's lock and, unless
// options.may_load is false, the base's load guard. The shared attempt's locks share what is
// left of the phase `options` started (start_phase); each fallback has a lock_wait of its own.
Result<PrepareOutcome> prepare_with_guard(const Config& config, const InstancePaths& paths, const LoadOptions& options)
{
    auto state = load_instance_state(paths.context.dir);
    std::optional<InstanceState> old;
    if (state) {
        old = *state;
    } else {
        say(options, "ignoring unreadable state: " + state.error().message);
    }

    const BlobStore shared = shared_store(config);
    const BlobStore local = local_store(config);

    if (old && old->mode == InstanceMode::Independent) {
        // Stays independent until `appshare reshare` moves it back. Its start never looks at the
        // shared storage outside the bounded worker below: that storage may be why it is
        // independent, and a look at an unanswering mount blocks.
        LoadOptions local_only = options;
        local_only.skip_other_store = true;
        auto files = ensure_instance_files(config, paths, local, local_only);
        if (files) return settle_instance(config, paths, InstanceMode::Independent, *files, old, old->reason, options.log);
        if (files.error().code == ErrorCode::Interrupted) return std::move(files).error();
        // The host-local copy is gone and cannot be remade. The domain is not running (this
        // is its start), so if the shared base is healthy it may as well run on that again.
        say(options, "the host-local copy cannot be had: " + files.error().message + "; trying the shared base");
        bool answered = true;
        const auto back_on_shared = [&](const LoadOptions& phase) -> Result<PrepareOutcome> {
            auto shared_files = ensure_instance_files(config, paths, shared, phase);
            if (!shared_files) return std::move(shared_files).error();
            return settle_instance(config, paths, InstanceMode::Shared, *shared_files, old,
                                   "host-local copy lost; back on the shared base", phase.log);
        };
        auto back = on_shared_storage(config, start_phase(config, options), back_on_shared, answered);
        if (back) {
            say(options, "its host-local copy was lost; it runs on the shared base again");
            return back;
        }
        if (!options.may_load) return load_in_flight(paths);
        return make_error(files.error().code,
                          "domain " + paths.domain + " runs independently of the shared storage, but its host-local copy of base " +
                              paths.base.sha256.substr(0, 12) + " cannot be had (" + short_reason(files.error()) +
                              "; see the appshare-hook log); restore a source, or run 'appshare reshare " + paths.domain +
                              "' once the shared base is healthy.");
    }

    const auto start_on_shared = [&](const LoadOptions& phase) -> Result<PrepareOutcome> {
        auto files = ensure_instance_files(config, paths, shared, phase);
        if (!files) return std::move(files).error();
        // A start that may not load (another start on this host loads the base) copies nothing.
        if (phase.may_load) {
            if (auto kept = keep_local_boot_copies(config, paths, phase); !kept) return std::move(kept).error();
        }
        return settle_instance(config, paths, InstanceMode::Shared, *files, old, "started on the shared base", phase.log);
    };
    bool storage_answered = true;
    auto on_shared = on_shared_storage(config, options, start_on_shared, storage_answered);
    if (on_shared || on_shared.error().code == ErrorCode::Interrupted) return on_shared;
    const Error& failed = on_shared.error();

    const std::string reason = message_clause(failed.message);
    say(options, "the shared base cannot be used (" + reason + "); making a host-local copy");
    // The fallback has a lock wait of its own: the shared attempt may have used all of it.
    // A start that may not load can only use a host-local copy that is there already: with none,
    // the host-local store is not touched at all (not even its lock file made).
    if (!options.may_load && !regular_file_at(local.path_of(paths.base))) return load_in_flight(paths);
    LoadOptions fallback = start_phase(config, options);
    fallback.skip_other_store = !storage_answered;
    auto local_files = ensure_instance_files(config, paths, local, fallback);
    if (!local_files) {
        say(options, "no host-local copy can be made either: " + local_files.error().message);
        if (!options.may_load) return load_in_flight(paths);
        return make_error(local_files.error().code,
                          "domain " + paths.domain + " cannot start: base " + paths.base.sha256.substr(0, 12) +
                              " cannot be had on the shared storage (" + short_reason(failed) +
                              ") nor as a host-local copy (" + message_what_failed(local_files.error().message) +
                              "); make a source of the base reachable and start it again.");
    }
    auto out = settle_instance(config, paths, InstanceMode::Independent, *local_files, old, reason, options.log);
    if (!out) return out;
    out->switched = true;
    say(options, "now runs independently on " + out->base.string() + "; run 'appshare reshare " + paths.domain +
                     "' while it is stopped to move it back onto the shared base");
    return out;
}

}  // namespace

Result<PrepareOutcome> prepare_instance(const Config& config, const InstancePaths& paths, const LoadOptions& caller_options)
{
    const LoadOptions options = start_phase(config, caller_options);
    LockHolder holder = options.holder;
    holder.purpose = "prepare instance";
    auto instance_lock = lock_context(paths.context, lock_wait_left(config, options), holder);
    if (!instance_lock) return std::move(instance_lock).error();
    // A cloud-init seed deleted since install is made again from the files the context keeps.
    auto seed = restore_seed_iso(paths.context);
    if (!seed) return std::move(seed).error();
    if (*seed) say(options, "made the cloud-init seed " + paths.context.seed_iso.string() + " again from " +
                                paths.context.seed_dir.string());

    // The load guard is needed only to load: when another start holds it, a copy already
    // verified (shared or host-local) is used without waiting; only a start that must load
    // waits for the guard, within a lock_wait of its own.
    std::optional<FileLock> load_guard;
    auto guarded = take_load_guard(config, paths, options, std::chrono::milliseconds(0), load_guard);
    if (!guarded) return std::move(guarded).error();
    if (*guarded) return prepare_with_guard(config, paths, options);
    LoadOptions verified_only = options;
    verified_only.may_load = false;
    auto first = prepare_with_guard(config, paths, verified_only);
    if (first || first.error().code == ErrorCode::Interrupted) return first;
    // The guard's wait and the locks of the attempt after it share one lock_wait.
    const LoadOptions waiting = start_phase(config, caller_options);
    guarded = take_load_guard(config, paths, waiting, lock_wait_left(config, waiting), load_guard);
    if (!guarded) return std::move(guarded).error();
    if (!*guarded) return load_in_flight(paths);
    return prepare_with_guard(config, paths, waiting);
}

}  // namespace appshare
