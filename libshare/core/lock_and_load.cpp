#include "core/lock_and_load.hpp"

#include "core/remote_source.hpp"
#include "core/time_format.hpp"

#include <chrono>

#include <sys/stat.h>

namespace appshare {
namespace {

void say(const LoadOptions& o, const std::string& line)
{
    if (o.log) o.log(line);
}

std::string clause(std::string m)
{
    while (!m.empty() && (m.back() == '.' || m.back() == ' ')) m.pop_back();
    return m;
}

bool regular_file_at(const std::filesystem::path& p)
{
    struct stat st {};
    return ::lstat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// The store that is not `target` (shared <-> local).
BlobStore other_store(const Config& config, const BlobStore& target)
{
    return BlobStore(target.dir() == config.shared_root ? config.local_root : config.shared_root);
}

EnsureOptions ensure_options(const Config& config, const LoadOptions& o, const std::string& purpose)
{
    EnsureOptions e;
    e.lock_wait = std::chrono::duration_cast<std::chrono::milliseconds>(config.lock_wait);
    e.holder = o.holder;
    e.holder.purpose = purpose;
    e.log = o.log;
    e.on_wait = [log = o.log](const std::string& holder) {
        if (log) log("waiting for a lock held by " + holder);
    };
    return e;
}

// Writes instance.json unless it already says exactly this mode and base.
Result<void> record_state(const InstancePaths& paths, const std::optional<InstanceState>& old, InstanceMode mode,
                          const std::filesystem::path& base, const std::string& reason)
{
    if (old && old->mode == mode && old->base == base) return ok();
    InstanceState s;
    s.mode = mode;
    s.base = base;
    const bool mode_changed = !old || old->mode != mode;
    s.since = mode_changed || old->since.empty() ? utc_timestamp_now() : old->since;
    s.reason = mode_changed || old->reason.empty() ? reason : old->reason;
    return save_instance_state(paths.context_dir, s);
}

}  // namespace

std::vector<BlobSource> base_sources(const Config& config, const InstancePaths& paths, const BlobStore& target)
{
    std::vector<BlobSource> sources;
    const auto other = other_store(config, target).path_of(paths.base);
    if (regular_file_at(other)) sources.push_back(store_file_source(other));
    for (const auto& f : paths.source_files) sources.push_back(allowed_file_source(f, config.allowed_source_dirs));
    for (const auto& u : paths.source_urls) sources.push_back(http_source(u, config.allowed_url_prefixes));
    return sources;
}

Result<bool> ensure_instance_files(const Config& config, const InstancePaths& paths, const BlobStore& store,
                                   const LoadOptions& options)
{
    bool loaded = false;
    auto base = store.ensure(paths.base, base_sources(config, paths, store), ensure_options(config, options, "load base"));
    if (!base) return std::move(base).error();
    loaded = base->action == EnsureOutcome::Action::Loaded;
    const auto other = other_store(config, store);
    for (const auto* boot : paths.boot_files()) {
        std::vector<BlobSource> sources;
        if (regular_file_at(other.path_of(boot->spec))) sources.push_back(store_file_source(other.path_of(boot->spec)));
        auto r = store.ensure(boot->spec, sources, ensure_options(config, options, "load " + boot->spec.kind));
        if (!r) return std::move(r).error();
        loaded = loaded || r->action == EnsureOutcome::Action::Loaded;
    }
    return loaded;
}

Result<PrepareOutcome> prepare_instance(const Config& config, const InstancePaths& paths, const LoadOptions& options)
{
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(config.lock_wait);
    LockHolder holder = options.holder;
    holder.purpose = "prepare instance";
    auto instance_lock = lock_instance(paths, wait, holder);
    if (!instance_lock) return std::move(instance_lock).error();

    auto state = load_instance_state(paths.context_dir);
    std::optional<InstanceState> old;
    if (state) {
        old = *state;
    } else {
        say(options, "ignoring unreadable state: " + state.error().message);
    }
    const BlobStore shared(config.shared_root);
    const BlobStore local(config.local_root);
    PrepareOutcome out;

    if (old && old->mode == InstanceMode::Independent) {
        // Stays independent until `appshare reshare` moves it back.
        auto files = ensure_instance_files(config, paths, local, options);
        if (!files) {
            return make_error(files.error().code,
                              "domain " + paths.domain + " runs independently of the shared storage, but its host-local copy of base " +
                                  paths.base.sha256.substr(0, 12) + " cannot be had (" + clause(files.error().message) +
                                  "); restore a source, or run 'appshare reshare " + paths.domain + "' once the shared base is healthy.");
        }
        auto pointed = point_context_at(paths, local, {shared}, options.log);
        if (!pointed) return std::move(pointed).error();
        out.mode = InstanceMode::Independent;
        out.base = local.path_of(paths.base);
        out.base_loaded = *files;
        out.reason = old->reason;
        if (auto s = record_state(paths, old, out.mode, out.base, old->reason); !s) return std::move(s).error();
        return out;
    }

    auto files = ensure_instance_files(config, paths, shared, options);
    if (files) {
        auto pointed = point_context_at(paths, shared, {local}, options.log);
        if (!pointed) return std::move(pointed).error();
        out.mode = InstanceMode::Shared;
        out.base = shared.path_of(paths.base);
        out.base_loaded = *files;
        if (auto s = record_state(paths, old, out.mode, out.base, "started on the shared base"); !s) return std::move(s).error();
        return out;
    }
    if (files.error().code == ErrorCode::Interrupted) return std::move(files).error();

    const std::string reason = clause(files.error().message);
    say(options, "the shared base cannot be used (" + reason + "); making a host-local copy");
    auto local_files = ensure_instance_files(config, paths, local, options);
    if (!local_files) {
        return make_error(local_files.error().code,
                          "domain " + paths.domain + " cannot start: its shared base " + paths.base.sha256.substr(0, 12) +
                              " cannot be had (" + reason + ") and no verified host-local copy can be made (" +
                              clause(local_files.error().message) + "); make a source of the base reachable and start it again.");
    }
    auto pointed = point_context_at(paths, local, {shared}, options.log);
    if (!pointed) return std::move(pointed).error();
    out.mode = InstanceMode::Independent;
    out.base = local.path_of(paths.base);
    out.switched = true;
    out.base_loaded = *local_files;
    out.reason = reason;
    if (auto s = record_state(paths, old, out.mode, out.base, reason); !s) return std::move(s).error();
    say(options, "now runs independently on " + out.base.string() + "; run 'appshare reshare " + paths.domain +
                     "' while it is stopped to move it back onto the shared base");
    return out;
}

}  // namespace appshare
