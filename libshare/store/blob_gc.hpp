// What `appshare gc` does to a blob store (store/blob_store.hpp): find every published file
// and its traces, tell when each was last used, and remove one that is proven unused, under the
// same lock every loader takes and with a last check under it.
//
// Removal order, under the lock: the verification record, the file, its temporary files, then
// the lock file itself (a waiter that took the lock on the removed lock file notices and locks
// the new one: base/file_lock.hpp). A start that races a removal therefore either finds the
// file whole (it got the lock first) or finds none and loads it again: never a half-removed one.
//
// "Last used" is the newest of: the file's modification time (when it was loaded), its
// verification time, and when its lock was last taken (every start, install and reshare takes
// it, on any host: the holder's note in the lock file says when).
#pragma once

#include "base/file_lock.hpp"
#include "base/result.hpp"
#include "store/blob_store.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace appshare {

// One published file's traces in a store directory.
struct StoredBlob {
    BlobSpec spec;            // sha256 and kind only
    bool published = false;   // something is at <sha>.<kind>
    bool has_record = false;  // <sha>.<kind>.verified
    bool has_lock = false;    // <sha>.<kind>.lock
    std::vector<std::filesystem::path> temporary;  // .<sha>.<kind>[.verified].part-*
};

// Every name in the store directory that is the store's (<64 hex>.<qcow2|raw|kernel|initrd>
// and its record, lock and temporary files), grouped by file; other names are left out.
// A missing directory holds nothing. Errors: Io when it cannot be read.
[[nodiscard]] Result<std::vector<StoredBlob>> list_stored_blobs(const BlobStore& store);

using SystemTime = std::chrono::system_clock::time_point;

// What tells when a file was last used (each when known).
struct BlobFacts {
    bool published = false;
    std::uint64_t bytes = 0;              // on disk: the file, its record and its lock file
    std::optional<SystemTime> modified;   // the file's mtime: when it was loaded
    std::optional<SystemTime> verified;   // its verification record's time
    std::optional<LockNote> last_lock;    // who took its lock last, and when
};

// The facts as they are now, read without the lock.
[[nodiscard]] BlobFacts blob_facts(const BlobStore& store, const StoredBlob& blob);

// Why a file must stay, from its facts (empty: it may go).
using KeepCheck = std::function<std::string(const BlobFacts&)>;

struct BlobRemoval {
    bool removed = false;
    std::string kept;                          // why it stayed, when it did
    std::uint64_t bytes = 0;                   // freed by the file, its record and its lock file
    std::vector<std::pair<std::filesystem::path, std::uint64_t>> temporary;  // removed with their sizes
};

// Takes the file's lock (bounded wait: LockTimeout when a start or load keeps it), asks `keep`
// with the facts under the lock (the last lock note is the one found when the lock was taken),
// and removes the file with all its traces in the order above unless `keep` objects.
[[nodiscard]] Result<BlobRemoval> remove_unused_blob(const BlobStore& store, const StoredBlob& blob,
                                                     const EnsureOptions& lock, const KeepCheck& keep);

// Under the file's lock (no loader is alive then): removes the temporary files dead loaders
// left, and nothing else.
[[nodiscard]] Result<BlobRemoval> remove_dead_temporaries(const BlobStore& store, const StoredBlob& blob,
                                                          const EnsureOptions& lock);

}  // namespace appshare
