// A content-addressed store of read-only files on (shared) storage: shared bases, their boot
// files, and host-local independent copies all live in one.
//
// Layout of a store directory:
//   <sha256>.<kind>            the published file, 0444, complete and verified by construction
//   <sha256>.<kind>.lock       the lock every loader, checker and remover of it takes
//   .<sha256>.<kind>.part-*    a load in progress (only while its writer holds the lock)
// and, in the store's records folder (the store itself for a host-local store; a folder on this
// host for the shared one: store/verification_record.hpp):
//   <sha256>.<kind>.verified   its verification record (size, inode, mtime, ctime, digest)
//
// Every file is reached without following links (base/dir_handle.hpp) and checked through the
// descriptor it was opened as: a file is hashed, checked and recorded through one descriptor,
// and a load publishes the very inode it wrote and hashed (TempFile::commit checks the final name).
//
// ensure() is lock-and-load: take the lock (bounded wait), re-check under it, and if the file
// is missing or damaged load it from the first source that works, hashing while copying into
// a temporary file, verifying digest, size and image safety, fsync, atomic rename, 0444. A
// file at its final name is therefore always complete, and a loader killed at any point leaves
// only a temporary file (removed by the next holder of the lock) and no lock (the kernel drops it).
//
// A published file is deleted only when it is proven bad: not a regular file, a full re-hash
// shows the wrong digest, or it fails the image safety check — or, by `appshare gc`, when it is
// proven unused, decided again under its lock (store/blob_gc.hpp). A spec whose size disagrees with
// a file of the right digest is a wrong spec (ErrorCode::BadManifest, the file is kept), and a
// file that cannot be read (Io) is kept too: neither proves the file damaged.
#pragma once

#include "base/byte_stream.hpp"
#include "base/file_lock.hpp"
#include "base/result.hpp"
#include "store/verification_record.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace appshare {

// The mode of a store directory appshare creates: QEMU (libvirt's user) passes through to the
// files it is handed, nobody lists them. Published files are 0444.
inline constexpr unsigned kStoreDirMode = 0711;

// What a published file must be.
struct BlobSpec {
    std::string sha256;                 // lowercase hex
    std::string kind;                   // file suffix: "qcow2", "raw", "kernel", "initrd"
    std::string image_format;           // "qcow2" / "raw" for disk images (header checked); empty otherwise
    std::optional<std::uint64_t> size;  // expected size in bytes, when known
};

// Somewhere a blob's content can be streamed from.
struct BlobSource {
    std::string description;                              // for messages: "bundle X member Y", "https://…"
    std::function<Result<void>(const ByteSink&)> stream;  // feeds the content to the sink, in order
};

struct EnsureOptions {
    std::chrono::milliseconds lock_wait{120000};
    LockHolder holder;
    FileLock::WaitNotice on_wait;                          // the lock was busy: who holds it
    std::function<void(const std::string&)> log;           // one line per event worth logging
    std::function<void(std::uint64_t bytes)> on_progress;  // bytes copied so far during a load
};

struct EnsureOutcome {
    enum class Action { Reused, Reverified, Loaded };
    std::filesystem::path path;
    Action action = Action::Reused;
    std::string source;  // the source used when Loaded
};

class BlobStore {
public:
    // A store in `dir` whose verification records live in `records_dir` (default: `dir`).
    explicit BlobStore(std::filesystem::path dir, std::filesystem::path records_dir = {})
        : dir_(std::move(dir)), records_dir_(records_dir.empty() ? dir_ : std::move(records_dir)) {}

    [[nodiscard]] const std::filesystem::path& dir() const noexcept { return dir_; }
    [[nodiscard]] const std::filesystem::path& records_dir() const noexcept { return records_dir_; }
    [[nodiscard]] std::filesystem::path path_of(const BlobSpec& spec) const;
    [[nodiscard]] std::filesystem::path lock_path_of(const BlobSpec& spec) const;
    [[nodiscard]] std::filesystem::path record_path_of(const BlobSpec& spec) const;

    // This host's verification record of the published file, if there is a readable one.
    [[nodiscard]] std::optional<VerificationRecord> record_of(const BlobSpec& spec) const;

    // Cheap check without the lock: a regular file with the right size, a valid verification
    // record and (for images) a safe header. Never hashes.
    [[nodiscard]] bool is_verified(const BlobSpec& spec) const;

    // Lock-and-load, as described above. Sources are tried in order until one yields content
    // with the right digest; their failures are all named in the error (ErrorCode::LoadFailed).
    // BadManifest, without loading, when the published file has the digest but not spec.size.
    [[nodiscard]] Result<EnsureOutcome> ensure(const BlobSpec& spec, const std::vector<BlobSource>& sources,
                                               const EnsureOptions& options) const;

    // Full check under the lock, without loading: re-hashes when the record is stale. Returns
    // false (and removes the file) when it is damaged; BadManifest (file kept) for a wrong size.
    [[nodiscard]] Result<bool> check(const BlobSpec& spec, const EnsureOptions& options) const;

private:
    std::filesystem::path dir_;
    std::filesystem::path records_dir_;
};

}  // namespace appshare
