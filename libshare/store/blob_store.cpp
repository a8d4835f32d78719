#include "store/blob_store.hpp"

#include "base/atomic_file.hpp"
#include "base/heartbeat.hpp"
#include "image/image_check.hpp"
#include "base/interrupt.hpp"
#include "base/sha256.hpp"
#include "store/verification_record.hpp"
#include "store/write_behind.hpp"

#include <cctype>
#include <cerrno>
#include <cstring>

#include <sys/stat.h>
#include <unistd.h>

namespace appshare {
namespace {

void log_line(const EnsureOptions& o, const std::string& line)
{
    if (o.log) o.log(line);
}

std::string short_digest(const std::string& sha) { return sha.substr(0, 12); }

// Removes what dead loaders left (only called with the lock held: no live loader exists).
void remove_leftovers(const std::filesystem::path& final_path, const EnsureOptions& o)
{
    // The published file's and its verification record's temporary files.
    const auto prefix = temp_prefix_for(final_path);
    const auto record_prefix = temp_prefix_for(record_path_for(final_path));
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(final_path.parent_path(), ec)) {
        const auto name = entry.path().filename().string();
        if (name.rfind(prefix, 0) == 0 || name.rfind(record_prefix, 0) == 0) {
            ::unlink(entry.path().c_str());
            log_line(o, "removed " + entry.path().string() + " left by an interrupted load");
        }
    }
}

void remove_published(const std::filesystem::path& final_path)
{
    ::unlink(record_path_for(final_path).c_str());
    ::unlink(final_path.c_str());
    (void)fsync_dir(final_path.parent_path());
}

Result<void> check_content_rules(const BlobSpec& spec, const std::filesystem::path& file)
{
    if (spec.image_format.empty()) return ok();
    auto facts = check_image_file(file, spec.image_format);
    if (!facts) return std::move(facts).error();
    return ok();
}

// Whether a failed check proves the published file itself bad (wrong digest, unsafe image),
// the only reasons to delete it; an unreadable file or a wrong spec proves nothing about it.
bool shows_damage(const Error& e)
{
    return e.code == ErrorCode::DigestMismatch || e.code == ErrorCode::UnsafeImage;
}

// The file has the spec's digest but not its size: the spec is wrong, not the file.
Error wrong_size_spec(const BlobSpec& spec, const std::filesystem::path& file, std::uint64_t actual)
{
    (void)actual;  // not told: whoever wrote the metadata may not be allowed to read the file
    return make_error(ErrorCode::BadManifest, file.string() + " has the expected SHA-256 but not the size of " +
                                                  std::to_string(spec.size.value_or(0)) + " bytes the metadata gives; the file is intact and kept, reinstall the instance to correct its metadata.");
}

// Full verification of a published file: digest (hashing all of it), then size, then content
// rules. DigestMismatch (the file is damaged) only when the digest is wrong; a right digest
// with a size the spec disagrees with is BadManifest (the spec is wrong, the file is not).
Result<void> verify_fully(const BlobSpec& spec, const std::filesystem::path& file, const struct stat& st)
{
    auto digest = sha256_file(file);
    if (!digest) return std::move(digest).error();
    if (*digest != spec.sha256) {
        return make_error(ErrorCode::DigestMismatch, file.string() + " has SHA-256 " + *digest + " instead of " + spec.sha256 + ".");
    }
    if (spec.size && static_cast<std::uint64_t>(st.st_size) != *spec.size) {
        return wrong_size_spec(spec, file, static_cast<std::uint64_t>(st.st_size));
    }
    return check_content_rules(spec, file);
}

Result<void> load_from(const BlobSpec& spec, const BlobSource& source, const std::filesystem::path& final_path,
                       const EnsureOptions& o)
{
    auto tmp = TempFile::create_beside(final_path, 0600);
    if (!tmp) return std::move(tmp).error();
    Sha256 sha;
    std::uint64_t copied = 0;
    // Hash here while the previous chunk is written on the writer's thread.
    WriteBehind writer(tmp->fd(), tmp->path().string());
    const ByteSink sink = [&](std::span<const std::byte> bytes) -> Result<void> {
        if (interrupted()) {
            return make_error(ErrorCode::Interrupted, "interrupted while loading " + final_path.filename().string() +
                                                          "; nothing was published, run the command again.");
        }
        copied += bytes.size();
        if (spec.size && copied > *spec.size) {
            return make_error(ErrorCode::DigestMismatch, "it is larger than the size the metadata gives");
        }
        if (auto w = writer.push(bytes); !w) return w;
        heartbeat();
        sha.update(bytes);
        if (o.on_progress) o.on_progress(copied);
        return ok();
    };
    if (auto r = source.stream(sink); !r) return r;
    if (auto w = writer.finish(); !w) return w;
    if (spec.size && copied != *spec.size) {
        return make_error(ErrorCode::DigestMismatch, "its size does not match the size the metadata gives");
    }
    const auto digest = sha.hex_digest();
    if (digest != spec.sha256) {
        // The actual digest only in the log (root's): messages reach whoever started the domain.
        log_line(o, source.description + " has SHA-256 " + digest + ", not " + spec.sha256);
        return make_error(ErrorCode::DigestMismatch, "its content does not match the digest the metadata gives");
    }
    if (auto c = check_content_rules(spec, tmp->path()); !c) return c;
    if (auto c = tmp->commit(0444); !c) return c;
    struct stat st {};
    if (::stat(final_path.c_str(), &st) != 0) {
        return make_error(ErrorCode::Io, "cannot stat " + final_path.string() + " after publishing it: " + std::strerror(errno));
    }
    return write_record(final_path, make_record(st, spec.sha256));
}

// Under the lock: is the published file there and intact? Removes it when damaged.
Result<bool> check_locked(const BlobSpec& spec, const std::filesystem::path& final_path, const EnsureOptions& o,
                          EnsureOutcome::Action& action)
{
    struct stat st {};
    if (::lstat(final_path.c_str(), &st) != 0) {
        if (errno == ENOENT) return false;
        return make_error(ErrorCode::Io, "cannot inspect " + final_path.string() + ": " + std::strerror(errno) +
                                             "; check that the shared storage is mounted.");
    }
    if (!S_ISREG(st.st_mode)) {
        log_line(o, final_path.string() + " is not a regular file; removing it");
        remove_published(final_path);
        return false;
    }
    const auto record = read_record(final_path);
    const bool size_ok = !spec.size || static_cast<std::uint64_t>(st.st_size) == *spec.size;
    const bool recorded = record && record_matches(*record, st, spec.sha256);
    // Verified with this digest and unchanged since: a size disagreeing is the spec's fault.
    if (recorded && !size_ok) return wrong_size_spec(spec, final_path, static_cast<std::uint64_t>(st.st_size));
    if (recorded) {
        if (auto c = check_content_rules(spec, final_path); !c) {
            if (!shows_damage(c.error())) return std::move(c).error();
            log_line(o, final_path.string() + " failed its image check (" + c.error().message + "); removing it");
            remove_published(final_path);
            return false;
        }
        action = EnsureOutcome::Action::Reused;
        return true;
    }
    log_line(o, final_path.string() + (record ? " changed since it was verified" : " has no verification record") +
                    "; re-hashing it");
    if (auto v = verify_fully(spec, final_path, st); !v) {
        if (v.error().code == ErrorCode::BadManifest) {
            // The content is right: record that, keep the file, refuse the wrong spec.
            if (auto w = write_record(final_path, make_record(st, spec.sha256)); !w) return std::move(w).error();
            return std::move(v).error();
        }
        // Unreadable (I/O error, interrupted) is not damaged: keep it and say so.
        if (!shows_damage(v.error())) return std::move(v).error();
        log_line(o, "damaged " + final_path.string() + ": " + v.error().message + " Removing it");
        remove_published(final_path);
        return false;
    }
    if (auto w = write_record(final_path, make_record(st, spec.sha256)); !w) return std::move(w).error();
    action = EnsureOutcome::Action::Reverified;
    return true;
}

}  // namespace

std::filesystem::path BlobStore::path_of(const BlobSpec& spec) const { return dir_ / (spec.sha256 + "." + spec.kind); }

std::filesystem::path BlobStore::lock_path_of(const BlobSpec& spec) const
{
    return dir_ / (spec.sha256 + "." + spec.kind + ".lock");
}

bool BlobStore::is_verified(const BlobSpec& spec) const
{
    const auto p = path_of(spec);
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
    if (spec.size && static_cast<std::uint64_t>(st.st_size) != *spec.size) return false;
    const auto record = read_record(p);
    return record && record_matches(*record, st, spec.sha256) && check_content_rules(spec, p).has_value();
}

Result<bool> BlobStore::check(const BlobSpec& spec, const EnsureOptions& options) const
{
    if (auto d = make_dirs(dir_); !d) return std::move(d).error();
    auto lock = FileLock::acquire(lock_path_of(spec), options.lock_wait, options.holder, options.on_wait);
    if (!lock) return std::move(lock).error();
    EnsureOutcome::Action action{};
    return check_locked(spec, path_of(spec), options, action);
}

Result<EnsureOutcome> BlobStore::ensure(const BlobSpec& spec, const std::vector<BlobSource>& sources,
                                        const EnsureOptions& options) const
{
    if (auto d = make_dirs(dir_); !d) return std::move(d).error();
    auto lock = FileLock::acquire(lock_path_of(spec), options.lock_wait, options.holder, options.on_wait);
    if (!lock) return std::move(lock).error();

    const auto final_path = path_of(spec);
    remove_leftovers(final_path, options);

    EnsureOutcome outcome;
    outcome.path = final_path;
    auto present = check_locked(spec, final_path, options, outcome.action);
    if (!present) return std::move(present).error();
    if (*present) return outcome;

    std::string failures;
    for (const auto& source : sources) {
        log_line(options, "loading " + short_digest(spec.sha256) + "." + spec.kind + " from " + source.description);
        auto r = load_from(spec, source, final_path, options);
        if (r) {
            log_line(options, "loaded " + final_path.string() + " from " + source.description);
            outcome.action = EnsureOutcome::Action::Loaded;
            outcome.source = source.description;
            return outcome;
        }
        if (r.error().code == ErrorCode::Interrupted) return std::move(r).error();
        log_line(options, "loading from " + source.description + " failed: " + r.error().message);
        if (!failures.empty()) failures += "; ";
        failures += source.description + ": " + r.error().message;
    }
    if (sources.empty()) failures = "no source is configured";
    return make_error(ErrorCode::LoadFailed, "no source gave a verified copy of " + final_path.filename().string() +
                                                 " in " + dir_.string() + " (" + failures +
                                                 "); make one of its sources reachable or add one.");
}

}  // namespace appshare
