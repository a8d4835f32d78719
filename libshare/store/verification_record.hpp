// A record that a published file's full content was hashed and matched its digest, so a later
// check is a stat() instead of a full re-hash.
//
// Keyed by what changes when the file's content does: size, inode, mtime and ctime. Writing the
// file, replacing it, or an edit that puts size and mtime back (utimensat) all change ctime, which
// no one can set back, so any of them makes the record stale and forces the full check again.
// (libvirt's DAC relabelling would change ctime too: appshare's domain XML marks the shared base
// relabel='no', so a start leaves it alone.)
//
// Records are kept where writers of the shared storage cannot forge them: a store names its
// records folder (BlobStore); the shared store's records live on this host (under local_root),
// so every host trusts only what it hashed itself, and a host seeing a shared base for the first
// time hashes it once.
#pragma once

#include "base/dir_handle.hpp"
#include "base/result.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <sys/stat.h>

namespace appshare {

struct VerificationRecord {
    std::string sha256;
    std::uint64_t size = 0;
    std::uint64_t inode = 0;
    std::int64_t mtime_ns = 0;
    std::int64_t ctime_ns = 0;
    std::string verified_at;  // UTC timestamp
    std::string verified_by;  // host name
};

// The record's name for a published file's name: "<file>.verified".
[[nodiscard]] std::string record_name_for(std::string_view file_name);

// A record for `st` (the fstat of the descriptor that was hashed) and the digest it matched.
[[nodiscard]] VerificationRecord make_record(const struct stat& st, std::string sha256);

// True when `record` describes the file as `st` shows it now, with the expected digest.
[[nodiscard]] bool record_matches(const VerificationRecord& record, const struct stat& st, std::string_view sha256);

// Reads the record of `file_name` in `records`; nullopt when there is none or it cannot be
// parsed (a damaged record only costs a re-hash).
[[nodiscard]] std::optional<VerificationRecord> read_record(const DirHandle& records, std::string_view file_name);

// Writes the record of `file_name` into `records` atomically (0600: only this host's root).
[[nodiscard]] Result<void> write_record(const DirHandle& records, std::string_view file_name,
                                        const VerificationRecord& record);

}  // namespace appshare
