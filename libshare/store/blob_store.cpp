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

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace appshare {
namespace {

void log_line(const EnsureOptions& o, const std::string& line)
{
    if (o.log) o.log(line);
}

std::string short_digest(const std::string& sha) { return sha.substr(0, 12); }

// The store's folder and its records folder, opened (made when missing) without links. The
// records are a cache of hashing already done: a records folder that cannot be had costs a
// re-hash at each check, never a refusal.
struct StoreDirs {
    DirHandle store;
    std::optional<DirHandle> records;
};

Result<StoreDirs> open_dirs(const BlobStore& s, DirHandle::Create create)
{
    auto store = DirHandle::open(s.dir(), create, kStoreDirMode);
    if (!store) return std::move(store).error();
    if (s.records_dir() == s.dir()) {
        auto same = store->duplicate();
        if (!same) return StoreDirs{std::move(*store), std::nullopt};
        return StoreDirs{std::move(*store), std::move(*same)};
    }
    // The records folder is private (0700); folders made above it are store folders (QEMU may
    // have to pass through them: the shared store's records live under local_root).
    auto parent = DirHandle::open(s.records_dir().parent_path(), create, kStoreDirMode);
    if (!parent) return StoreDirs{std::move(*store), std::nullopt};
    auto records = parent->sub(s.records_dir().filename().string(), create, 0700);
    if (!records) return StoreDirs{std::move(*store), std::nullopt};
    return StoreDirs{std::move(*store), std::move(*records)};
}

std::optional<VerificationRecord> read_record_in(const StoreDirs& dirs, const std::string& name)
{
    return dirs.records ? read_record(*dirs.records, name) : std::nullopt;
}

// Records what was hashed; a record that cannot be written is logged (the next check re-hashes).
void record(const StoreDirs& dirs, const std::string& name, const VerificationRecord& r, const EnsureOptions& o)
{
    if (!dirs.records) {
        log_line(o, "no verification record kept for " + (dirs.store / name).string() + ": its records folder cannot be used");
        return;
    }
    if (auto w = write_record(*dirs.records, name, r); !w) log_line(o, "no verification record kept: " + w.error().message);
}

std::string name_of(const BlobSpec& spec) { return spec.sha256 + "." + spec.kind; }

bool same_inode(const struct stat& a, const struct stat& b) { return a.st_dev == b.st_dev && a.st_ino == b.st_ino; }

// Removes what dead loaders left (only called with the lock held: no live loader exists).
void remove_leftovers(const StoreDirs& dirs, const std::string& name, const EnsureOptions& o)
{
    const auto clean = [&](const DirHandle& dir, const std::string& prefix) {
        auto names = dir.names();
        if (!names) return;
        for (const auto& entry : *names) {
            if (entry.rfind(prefix, 0) != 0) continue;
            if (dir.remove(entry)) log_line(o, "removed " + (dir / entry).string() + " left by an interrupted load");
        }
    };
    clean(dirs.store, temp_prefix_for(name));
    if (dirs.records) clean(*dirs.records, temp_prefix_for(record_name_for(name)));
}

void remove_published(const StoreDirs& dirs, const std::string& name)
{
    if (dirs.records) (void)dirs.records->remove(record_name_for(name));
    (void)dirs.store.remove(name);
    (void)dirs.store.sync();
}

Result<void> check_content_rules(const BlobSpec& spec, int fd, const std::filesystem::path& file)
{
    if (spec.image_format.empty()) return ok();
    auto facts = check_image_fd(fd, spec.image_format, file.string());
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

// Whether the content can have changed between two fstat()s of one descriptor: inode, size and
// mtime. Not ctime: libvirt changes the owner of host-local boot files (and its xattrs on them)
// while other domains start, which must not fail a check that runs meanwhile. A writer that
// puts mtime back does change ctime, and the record keeps the ctime from before the hash, so the
// next check hashes again.
bool unchanged(const struct stat& before, const struct stat& after)
{
    return same_inode(before, after) && before.st_size == after.st_size &&
           before.st_mtim.tv_sec == after.st_mtim.tv_sec && before.st_mtim.tv_nsec == after.st_mtim.tv_nsec;
}

// Full verification of a published file through one descriptor: digest (hashing all of it),
// then size, then content rules; `st` is its fstat from before the hash and is checked again
// after it, so what gets recorded is what was hashed. DigestMismatch (the file is damaged) only
// when the digest is wrong; a right digest with a size the spec disagrees with is BadManifest
// (the spec is wrong, the file is not); a file that changed while it was hashed is Io.
Result<void> verify_fully(const BlobSpec& spec, int fd, const std::filesystem::path& file, const struct stat& st)
{
    auto digest = sha256_fd(fd, file.string());
    if (!digest) return std::move(digest).error();
    struct stat after {};
    if (::fstat(fd, &after) != 0 || !unchanged(st, after)) {
        return make_error(ErrorCode::Io, file.string() + " changed while it was being hashed; someone else writes to the shared storage, find out who, then start again.");
    }
    if (*digest != spec.sha256) {
        return make_error(ErrorCode::DigestMismatch, file.string() + " does not have the content its name promises (SHA-256 " + *digest + ").");
    }
    if (spec.size && static_cast<std::uint64_t>(st.st_size) != *spec.size) {
        return wrong_size_spec(spec, file, static_cast<std::uint64_t>(st.st_size));
    }
    return check_content_rules(spec, fd, file);
}

Result<void> load_from(const BlobSpec& spec, const BlobSource& source, const StoreDirs& dirs, const std::string& name,
                       const EnsureOptions& o)
{
    const auto final_path = dirs.store / name;
    auto tmp = TempFile::create_in(dirs.store, name, 0600);
    if (!tmp) return std::move(tmp).error();
    Sha256 sha;
    std::uint64_t copied = 0;
    // Hash here while the previous chunk is written on the writer's thread: the bytes hashed are
    // the bytes written to the descriptor that is published.
    WriteBehind writer(tmp->fd(), tmp->path().string());
    const ByteSink sink = [&](std::span<const std::byte> bytes) -> Result<void> {
        if (interrupted()) {
            return make_error(ErrorCode::Interrupted, "interrupted while loading " + name +
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
    if (auto c = check_content_rules(spec, tmp->fd(), tmp->path()); !c) return c;
    struct stat published {};
    if (auto c = tmp->commit(0444, &published); !c) return c;
    record(dirs, name, make_record(published, spec.sha256), o);
    return ok();
}

// A published disk image belongs to root, 0444, so no QEMU can change it. libvirt's DAC driver
// chowned a shared base to its QEMU user at each start of a domain defined before the domain
// XML marked the base relabel='no' (and never gave it back: it does not restore backing
// files). Called with its content verified (just hashed, or unchanged since this host did), it
// is given back on the descriptor; `st` is updated. Boot files are not: libvirt hands the
// host-local copies to QEMU and back at every start and stop (their ctime then makes the next
// check re-hash them; they are small). Returns whether anything changed.
bool give_back_to_root(const BlobSpec& spec, int fd, const std::filesystem::path& file, struct stat& st, const EnsureOptions& o)
{
    if (spec.image_format.empty() || ::geteuid() != 0) return false;
    if (st.st_uid == 0 && st.st_gid == 0 && (st.st_mode & 07777) == 0444) return false;
    if (::fchown(fd, 0, 0) != 0 || ::fchmod(fd, 0444) != 0 || ::fstat(fd, &st) != 0) {
        log_line(o, "cannot give " + file.string() + " back to root, mode 0444: " + std::strerror(errno));
        return false;
    }
    log_line(o, "gave " + file.string() + " back to root, mode 0444 (an older domain definition let libvirt relabel it)");
    return true;
}

// Under the lock: is the published file there and intact? Removes it when damaged.
Result<bool> check_locked(const BlobSpec& spec, const StoreDirs& dirs, const EnsureOptions& o,
                          EnsureOutcome::Action& action)
{
    const auto name = name_of(spec);
    const auto final_path = dirs.store / name;
    auto named = dirs.store.stat(name);
    if (!named) return std::move(named).error();
    if (!*named) return false;
    if (!S_ISREG((*named)->st_mode)) {
        log_line(o, final_path.string() + " is not a regular file; removing it");
        remove_published(dirs, name);
        return false;
    }
    struct stat st {};
    auto fd = dirs.store.open_file(name, O_RDONLY, FileType::Regular, &st);
    if (!fd) {
        if (fd.error().code == ErrorCode::NotFound) return false;
        return std::move(fd).error();
    }
    const auto previous = read_record_in(dirs, name);
    const bool size_ok = !spec.size || static_cast<std::uint64_t>(st.st_size) == *spec.size;
    const bool recorded = previous && record_matches(*previous, st, spec.sha256);
    // Verified with this digest and unchanged since: a size disagreeing is the spec's fault.
    if (recorded && !size_ok) return wrong_size_spec(spec, final_path, static_cast<std::uint64_t>(st.st_size));
    if (recorded) {
        if (auto c = check_content_rules(spec, fd->get(), final_path); !c) {
            if (!shows_damage(c.error())) return std::move(c).error();
            log_line(o, final_path.string() + " failed its image check (" + c.error().message + "); removing it");
            remove_published(dirs, name);
            return false;
        }
        if (give_back_to_root(spec, fd->get(), final_path, st, o)) record(dirs, name, make_record(st, spec.sha256), o);
        action = EnsureOutcome::Action::Reused;
        return true;
    }
    log_line(o, final_path.string() + (previous ? " changed since this host verified it" : " has no verification record of this host") +
                    "; re-hashing it");
    auto v = verify_fully(spec, fd->get(), final_path, st);
    // Still the file at its name? (A record must describe what is there, not what was.)
    auto now = dirs.store.stat(name);
    if (!now) return std::move(now).error();
    if (!*now || !same_inode(**now, st)) {
        return make_error(ErrorCode::Io, final_path.string() + " was replaced while it was being checked; someone else writes to the shared storage, find out who, then start again.");
    }
    if (!v) {
        if (v.error().code == ErrorCode::BadManifest) {
            // The content is right: record that, keep the file, refuse the wrong spec.
            record(dirs, name, make_record(st, spec.sha256), o);
            return std::move(v).error();
        }
        // Unreadable (I/O error, interrupted, changed meanwhile) is not damaged: keep it and say so.
        if (!shows_damage(v.error())) return std::move(v).error();
        log_line(o, "damaged " + final_path.string() + ": " + v.error().message + " Removing it");
        remove_published(dirs, name);
        return false;
    }
    (void)give_back_to_root(spec, fd->get(), final_path, st, o);
    record(dirs, name, make_record(st, spec.sha256), o);
    action = EnsureOutcome::Action::Reverified;
    return true;
}

}  // namespace

std::filesystem::path BlobStore::path_of(const BlobSpec& spec) const { return dir_ / name_of(spec); }

std::filesystem::path BlobStore::lock_path_of(const BlobSpec& spec) const { return dir_ / (name_of(spec) + ".lock"); }

std::filesystem::path BlobStore::record_path_of(const BlobSpec& spec) const
{
    return records_dir_ / record_name_for(name_of(spec));
}

std::optional<VerificationRecord> BlobStore::record_of(const BlobSpec& spec) const
{
    auto records = DirHandle::open(records_dir_);
    if (!records) return std::nullopt;
    return read_record(*records, name_of(spec));
}

bool BlobStore::is_verified(const BlobSpec& spec) const
{
    auto dirs = open_dirs(*this, DirHandle::Create::No);
    if (!dirs) return false;
    struct stat st {};
    auto fd = dirs->store.open_file(name_of(spec), O_RDONLY, FileType::Regular, &st);
    if (!fd) return false;
    if (spec.size && static_cast<std::uint64_t>(st.st_size) != *spec.size) return false;
    const auto previous = read_record_in(*dirs, name_of(spec));
    return previous && record_matches(*previous, st, spec.sha256) && check_content_rules(spec, fd->get(), path_of(spec)).has_value();
}

Result<bool> BlobStore::check(const BlobSpec& spec, const EnsureOptions& options) const
{
    auto dirs = open_dirs(*this, DirHandle::Create::Yes);
    if (!dirs) return std::move(dirs).error();
    auto lock = FileLock::acquire(lock_path_of(spec), options.lock_wait, options.holder, options.on_wait);
    if (!lock) return std::move(lock).error();
    EnsureOutcome::Action action{};
    return check_locked(spec, *dirs, options, action);
}

Result<EnsureOutcome> BlobStore::ensure(const BlobSpec& spec, const std::vector<BlobSource>& sources,
                                        const EnsureOptions& options) const
{
    auto dirs = open_dirs(*this, DirHandle::Create::Yes);
    if (!dirs) return std::move(dirs).error();
    auto lock = FileLock::acquire(lock_path_of(spec), options.lock_wait, options.holder, options.on_wait);
    if (!lock) return std::move(lock).error();

    const auto name = name_of(spec);
    const auto final_path = path_of(spec);
    remove_leftovers(*dirs, name, options);

    EnsureOutcome outcome;
    outcome.path = final_path;
    auto present = check_locked(spec, *dirs, options, outcome.action);
    if (!present) return std::move(present).error();
    if (*present) return outcome;

    std::string failures;
    for (const auto& source : sources) {
        log_line(options, "loading " + short_digest(spec.sha256) + "." + spec.kind + " from " + source.description);
        auto r = load_from(spec, source, *dirs, name, options);
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
