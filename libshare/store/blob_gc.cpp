#include "store/blob_gc.hpp"

#include "base/atomic_file.hpp"
#include "base/dir_handle.hpp"
#include "base/sha256.hpp"
#include "base/time_format.hpp"
#include "store/verification_record.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <map>
#include <string_view>

#include <sys/stat.h>
#include <unistd.h>

namespace appshare {
namespace {

constexpr std::array<std::string_view, 4> kKinds{"qcow2", "raw", "kernel", "initrd"};
constexpr std::string_view kRecordSuffix = ".verified";
constexpr std::string_view kLockSuffix = ".lock";
constexpr std::string_view kPartMarker = ".part-";

// "<sha>.<kind>" at the start of `name`, followed by what is left; nullopt if it is not one.
std::optional<std::pair<BlobSpec, std::string_view>> split_blob_name(std::string_view name)
{
    if (name.size() < 66 || name[64] != '.' || !is_sha256_digest(name.substr(0, 64))) return std::nullopt;
    const std::string_view rest = name.substr(65);
    for (const auto kind : kKinds) {
        if (rest.substr(0, kind.size()) == kind && (rest.size() == kind.size() || rest[kind.size()] == '.')) {
            return std::pair{BlobSpec{std::string(name.substr(0, 64)), std::string(kind), "", std::nullopt},
                             rest.substr(kind.size())};
        }
    }
    return std::nullopt;
}

std::uint64_t allocated(const std::filesystem::path& p)
{
    const auto st = stat_no_links(p);
    return st && *st ? static_cast<std::uint64_t>((*st)->st_blocks) * 512 : 0;
}

// The temporary files of loads of `spec` (and of its record) in `dir`.
void add_temporaries(const std::filesystem::path& dir, const BlobSpec& spec, std::vector<std::filesystem::path>& out)
{
    const auto file = spec.sha256 + "." + spec.kind;
    const auto prefix = temp_prefix_for(file);
    const auto record_prefix = temp_prefix_for(record_name_for(file));
    const auto names = list_no_links(dir);
    if (!names || !*names) return;
    for (const auto& name : **names) {
        if (name.rfind(prefix, 0) == 0 || name.rfind(record_prefix, 0) == 0) out.push_back(dir / name);
    }
}

std::vector<std::filesystem::path> temporaries_of(const BlobStore& store, const BlobSpec& spec)
{
    std::vector<std::filesystem::path> out;
    add_temporaries(store.dir(), spec, out);
    if (store.records_dir() != store.dir()) add_temporaries(store.records_dir(), spec, out);
    return out;
}

Result<void> unlink_file(const std::filesystem::path& p) { return remove_no_links(p); }

Result<std::vector<std::pair<std::filesystem::path, std::uint64_t>>> unlink_temporaries(const BlobStore& store,
                                                                                         const BlobSpec& spec)
{
    std::vector<std::pair<std::filesystem::path, std::uint64_t>> removed;
    for (const auto& t : temporaries_of(store, spec)) {
        const auto bytes = allocated(t);
        if (auto u = unlink_file(t); !u) return std::move(u).error();
        removed.emplace_back(t, bytes);
    }
    return removed;
}

Result<FileLock> lock_blob(const BlobStore& store, const BlobSpec& spec, const EnsureOptions& o)
{
    if (auto d = make_dirs(store.dir()); !d) return std::move(d).error();
    return FileLock::acquire(store.lock_path_of(spec), o.lock_wait, o.holder, o.on_wait);
}

}  // namespace

Result<std::vector<StoredBlob>> list_stored_blobs(const BlobStore& store)
{
    std::map<std::pair<std::string, std::string>, StoredBlob> blobs;
    auto names = list_no_links(store.dir());
    if (!names) {
        return make_error(ErrorCode::Io, "cannot read the store " + store.dir().string() + ": " + message_clause(names.error().message) +
                                             "; check that it is mounted and readable.");
    }
    if (!*names) return std::vector<StoredBlob>{};
    for (const auto& name : **names) {
        const bool temporary = name.size() > 1 && name.front() == '.';
        auto split = split_blob_name(temporary ? std::string_view(name).substr(1) : std::string_view(name));
        if (!split) continue;
        auto& [spec, rest] = *split;
        const bool part = temporary && (rest.substr(0, kPartMarker.size()) == kPartMarker ||
                                        rest.substr(0, kRecordSuffix.size() + kPartMarker.size()) ==
                                            std::string(kRecordSuffix) + std::string(kPartMarker));
        if (temporary && !part) continue;
        if (!temporary && !rest.empty() && rest != kRecordSuffix && rest != kLockSuffix) continue;
        StoredBlob& b = blobs[{spec.sha256, spec.kind}];
        b.spec = spec;
        if (part) {
            b.temporary.push_back(store.dir() / name);
        } else if (rest.empty()) {
            b.published = true;
        } else if (rest == kRecordSuffix) {
            b.has_record = true;
        } else {
            b.has_lock = true;
        }
    }
    std::vector<StoredBlob> out;
    for (auto& [key, b] : blobs) out.push_back(std::move(b));
    return out;
}

BlobFacts blob_facts(const BlobStore& store, const StoredBlob& blob)
{
    BlobFacts f;
    const auto file = store.path_of(blob.spec);
    if (const auto st = stat_no_links(file); st && *st) {
        f.published = true;
        f.modified = std::chrono::system_clock::from_time_t((*st)->st_mtim.tv_sec);
    }
    if (const auto record = store.record_of(blob.spec)) f.verified = parse_utc_timestamp(record->verified_at);
    f.last_lock = read_lock_note(store.lock_path_of(blob.spec));
    f.bytes = allocated(file) + allocated(store.record_path_of(blob.spec)) + allocated(store.lock_path_of(blob.spec));
    return f;
}

Result<BlobRemoval> remove_unused_blob(const BlobStore& store, const StoredBlob& blob, const EnsureOptions& o,
                                       const KeepCheck& keep)
{
    auto lock = lock_blob(store, blob.spec, o);
    if (!lock) return std::move(lock).error();
    BlobFacts facts = blob_facts(store, blob);
    facts.last_lock = lock->previous_note();
    BlobRemoval out;
    out.kept = keep(facts);
    if (!out.kept.empty()) {
        lock->restore_previous_note();
        return out;
    }
    const auto file = store.path_of(blob.spec);
    out.bytes = facts.bytes;
    // The record first: from here on no check trusts the file, whatever happens next.
    if (auto u = unlink_file(store.record_path_of(blob.spec)); !u) return std::move(u).error();
    // A record next to the file, where earlier versions kept them (no longer read, only removed).
    if (auto u = unlink_file(store.dir() / record_name_for(file.filename().string())); !u) return std::move(u).error();
    if (auto u = unlink_file(file); !u) return std::move(u).error();
    auto temporary = unlink_temporaries(store, blob.spec);
    if (!temporary) return std::move(temporary).error();
    out.temporary = std::move(*temporary);
    (void)fsync_dir(store.dir());
    // Last, while still holding it: waiters on this lock file then lock the next one.
    if (auto u = unlink_file(store.lock_path_of(blob.spec)); !u) return std::move(u).error();
    (void)fsync_dir(store.dir());
    out.removed = true;
    return out;
}

Result<BlobRemoval> remove_dead_temporaries(const BlobStore& store, const StoredBlob& blob, const EnsureOptions& o)
{
    auto lock = lock_blob(store, blob.spec, o);
    if (!lock) return std::move(lock).error();
    BlobRemoval out;
    auto temporary = unlink_temporaries(store, blob.spec);
    lock->restore_previous_note();
    if (!temporary) return std::move(temporary).error();
    out.temporary = std::move(*temporary);
    if (!out.temporary.empty()) (void)fsync_dir(store.dir());
    return out;
}

}  // namespace appshare
