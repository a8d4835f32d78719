// An exclusive lock on a file on (possibly shared) storage, held for a bounded wait.
//
// Uses open file description locks (F_OFD_SETLK): they work across processes, and through
// NFS/GlusterFS/CephFS mounts across hosts, and the kernel drops them when the holder dies
// (also on SIGKILL), so a crashed loader never leaves a lock behind. The holder writes who it
// is into the lock file so waiters can say who they are waiting for, and so the note left there
// tells when the lock was last taken (`appshare gc` reads it as "last used").
//
// A lock file may be removed by whoever holds it (`appshare gc`, with what it guards): a waiter
// that wakes up holding a file no longer at the lock's name takes the lock at that name again,
// so two processes never both believe they hold the lock of one name.
#pragma once

#include "base/host_identity.hpp"
#include "base/result.hpp"
#include "base/unique_handle.hpp"

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

namespace appshare {

// Who holds (or wants) a lock; written into the lock file by the holder.
struct LockHolder {
    std::string host;
    long pid = 0;
    std::string domain;   // the domain being started, or the command ("appshare install")
    std::string purpose;  // what the holder does under the lock ("load base", ...)
};

// What a holder wrote into a lock file: who, and since when (a UTC timestamp as written).
struct LockNote {
    LockHolder holder;
    std::string since;
};

// The note in `lock_file` (never following a link, capped); nullopt when there is none or it
// is not one.
[[nodiscard]] std::optional<LockNote> read_lock_note(const std::filesystem::path& lock_file);

// Whether another open file description holds a lock on `lock_file` right now (F_OFD_GETLK),
// without taking it or writing anything: for reports that change nothing (`gc --dry-run`).
// False when the file does not exist.
[[nodiscard]] bool lock_is_held(const std::filesystem::path& lock_file);

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

    // The note the previous holder left in the file, read under the lock before this holder
    // wrote its own: who took the lock last, and when.
    [[nodiscard]] const std::optional<LockNote>& previous_note() const noexcept { return previous_; }

    // Puts the previous holder's note back in place of this one's: for a holder that only
    // looked (`appshare gc` keeping a file), so that the note still tells who last used it.
    void restore_previous_note() noexcept;

private:
    FileLock(UniqueFd fd, std::filesystem::path path, std::string previous_text)
        : fd_(std::move(fd)), path_(std::move(path)), previous_text_(std::move(previous_text)) {}
    UniqueFd fd_;
    std::filesystem::path path_;
    std::string previous_text_;
    std::optional<LockNote> previous_;
};

// This process as a lock holder: this host, this pid, `who` (the domain being started, or the
// command: "appshare install web1") and what it does under the lock.
[[nodiscard]] LockHolder this_process_holder(std::string who, std::string purpose = {});

}  // namespace appshare
