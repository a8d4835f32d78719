// An exclusive lock on a file on (possibly shared) storage, held for a bounded wait.
//
// Uses open file description locks (F_OFD_SETLK): they work across processes, and through
// NFS/GlusterFS/CephFS mounts across hosts, and the kernel drops them when the holder dies
// (also on SIGKILL), so a crashed loader never leaves a lock behind. The holder writes who it
// is into the lock file so waiters can say who they are waiting for.
#pragma once

#include "base/host_identity.hpp"
#include "base/result.hpp"
#include "base/unique_handle.hpp"

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>

namespace appshare {

// Who holds (or wants) a lock; written into the lock file by the holder.
struct LockHolder {
    std::string host;
    long pid = 0;
    std::string domain;   // the domain being started, or the command ("appshare install")
    std::string purpose;  // what the holder does under the lock ("load base", ...)
};

// The holder of `lock_file` as a short sentence fragment ("pid 42 on host-a (domain web1, load base) since
// 2026-11-25T10:00:00Z"), or "an unknown process" when the file records nobody.
[[nodiscard]] std::string describe_lock_holder(const std::filesystem::path& lock_file);

class FileLock {
public:
    // Called once, when the lock is found busy, with the description of its holder.
    using WaitNotice = std::function<void(const std::string& holder)>;

    // Takes the exclusive lock on `lock_file` (created 0644 if missing; a symlink is refused),
    // waiting at most `wait`. On timeout: ErrorCode::LockTimeout naming the holder.
    [[nodiscard]] static Result<FileLock> acquire(const std::filesystem::path& lock_file,
                                                  std::chrono::milliseconds wait, const LockHolder& me,
                                                  const WaitNotice& on_wait = {});

    FileLock(FileLock&&) noexcept = default;
    FileLock& operator=(FileLock&&) noexcept = default;
    ~FileLock() = default;  // closing the descriptor releases the lock

    [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }

private:
    FileLock(UniqueFd fd, std::filesystem::path path) : fd_(std::move(fd)), path_(std::move(path)) {}
    UniqueFd fd_;
    std::filesystem::path path_;
};

// This process as a lock holder: this host, this pid, `who` (the domain being started, or the
// command: "appshare install web1") and what it does under the lock.
[[nodiscard]] LockHolder this_process_holder(std::string who, std::string purpose = {});

}  // namespace appshare
