#include "base/file_lock.hpp"

#include "base/dir_handle.hpp"

#include "base/heartbeat.hpp"
#include "base/interrupt.hpp"
#include "base/json_text.hpp"
#include "base/small_file.hpp"
#include "base/time_format.hpp"

#include <nlohmann/json.hpp>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <thread>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace appshare {
namespace {

// A lock file holds a short JSON note of its holder.
constexpr std::size_t kMaxHolderBytes = 4095;

bool try_lock(int fd, int& err)
{
    struct flock fl {};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = 0;
    fl.l_len = 0;  // whole file
    if (fcntl(fd, F_OFD_SETLK, &fl) == 0) return true;
    err = errno;
    return false;
}

// Best effort: the note only informs waiters and gc; the lock itself is the kernel's.
void write_note(int fd, const std::string& text)
{
    if (ftruncate(fd, 0) == 0 && !text.empty()) {
        [[maybe_unused]] const auto n = pwrite(fd, text.data(), text.size(), 0);
    }
}

void record_holder(int fd, const LockHolder& me)
{
    const nlohmann::json j = {{"host", me.host}, {"pid", me.pid}, {"domain", me.domain},
                              {"purpose", me.purpose}, {"since", utc_timestamp_now()}};
    write_note(fd, json_text(j) + "\n");
}

std::optional<LockNote> parse_note(const std::string& text)
{
    const auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return std::nullopt;
    const auto str = [&](const char* k) { return j.contains(k) && j[k].is_string() ? j[k].get<std::string>() : std::string("?"); };
    LockNote n;
    n.holder.host = str("host");
    n.holder.pid = j.contains("pid") && j["pid"].is_number_integer() ? j["pid"].get<long>() : 0;
    n.holder.domain = str("domain");
    n.holder.purpose = str("purpose");
    n.since = str("since");
    return n;
}

// Opens (creating) the lock file without following a link anywhere in its path; anything but a
// regular file there (a FIFO, a device planted on shared storage) is refused on the descriptor.
UniqueFd open_lock_file(const std::filesystem::path& lock_file)
{
    UniqueFd fd(open_no_links(AT_FDCWD, lock_file, O_RDWR | O_CREAT, 0644));
    struct stat st {};
    if (fd.valid() && (fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode))) {
        errno = EINVAL;
        return UniqueFd{};
    }
    return fd;
}

// Whether the file locked through `fd` is still the one at `lock_file` (a holder may have
// removed it, with what it guarded, while this process waited on it).
bool still_at_its_name(int fd, const std::filesystem::path& lock_file)
{
    struct stat held {};
    if (fstat(fd, &held) != 0) return true;  // nothing better to know: keep the lock taken
    const auto now = stat_no_links(lock_file);
    return now && *now && (*now)->st_dev == held.st_dev && (*now)->st_ino == held.st_ino;
}

}  // namespace

LockHolder this_process_holder(std::string who, std::string purpose)
{
    return LockHolder{this_host_name(), static_cast<long>(::getpid()), std::move(who), std::move(purpose)};
}

std::optional<LockNote> read_lock_note(const std::filesystem::path& lock_file)
{
    const SmallFile note = read_file_head(lock_file, kMaxHolderBytes);
    if (!note || note.text.empty()) return std::nullopt;
    return parse_note(note.text);
}

bool lock_is_held(const std::filesystem::path& lock_file)
{
    auto fd = open_checked(lock_file, O_RDONLY, FileType::Regular);
    if (!fd) return false;
    struct flock fl {};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    return fcntl(fd->get(), F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
}

std::string describe_lock_holder(const std::filesystem::path& lock_file)
{
    const auto note = read_lock_note(lock_file);
    if (!note) return "an unknown process";
    const LockHolder& h = note->holder;
    return "pid " + std::to_string(h.pid) + " on " + h.host + " (" + h.domain + ", " + h.purpose + ") since " + note->since;
}

Result<FileLock> FileLock::acquire(const std::filesystem::path& lock_file, std::chrono::milliseconds wait,
                                   const LockHolder& me, const WaitNotice& on_wait)
{
    const auto open_error = [&](int err) {
        if (err == ELOOP) {
            return make_error(ErrorCode::UnsafePath, "lock file " + lock_file.string() + " is or passes through a symbolic link; remove it, appshare never follows links on shared storage.");
        }
        if (err == EINVAL) {
            return make_error(ErrorCode::UnsafePath, "lock file " + lock_file.string() + " is not a regular file; remove it, only appshare puts files there.");
        }
        return make_error(ErrorCode::Io, "cannot open lock file " + lock_file.string() + ": " + std::strerror(err) +
                                             "; check that the shared storage is mounted and writable.");
    };
    UniqueFd fd = open_lock_file(lock_file);
    if (!fd.valid()) return open_error(errno);
    const auto deadline = std::chrono::steady_clock::now() + wait;
    auto pause = std::chrono::milliseconds(5);
    bool noticed = false;
    for (;;) {
        int err = 0;
        if (try_lock(fd.get(), err)) {
            if (still_at_its_name(fd.get(), lock_file)) break;
            // Removed by its previous holder: lock the file now at that name instead.
            fd = open_lock_file(lock_file);
            if (!fd.valid()) return open_error(errno);
            continue;
        }
        heartbeat();  // the storage answered: a busy lock is slow, not hung
        if (err != EAGAIN && err != EACCES && err != EINTR) {
            return make_error(ErrorCode::Io, "cannot lock " + lock_file.string() + ": " + std::strerror(err) +
                                                 "; the shared storage must support POSIX locks.");
        }
        if (!noticed && on_wait) {
            on_wait(describe_lock_holder(lock_file));
            noticed = true;
        }
        if (interrupted()) {
            return make_error(ErrorCode::Interrupted, "interrupted while waiting for lock " + lock_file.string() +
                                                          "; nothing was changed, run the command again.");
        }
        const auto now = std::chrono::steady_clock::now();
        if (now >= deadline) {
            return make_error(ErrorCode::LockTimeout, "lock " + lock_file.string() + " is still held by " +
                                                          describe_lock_holder(lock_file) + " after waiting " +
                                                          format_seconds(wait) + "; try again later or raise lock_wait_seconds.");
        }
        std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(pause, deadline - now));
        pause = std::min(pause * 2, std::chrono::milliseconds(200));
    }
    std::string previous;
    if (read_fd_head(fd.get(), kMaxHolderBytes, previous) != 0) previous.clear();
    record_holder(fd.get(), me);
    FileLock lock(std::move(fd), lock_file, previous);
    if (!previous.empty()) lock.previous_ = parse_note(previous);
    return lock;
}

void FileLock::restore_previous_note() noexcept
{
    if (fd_.valid()) write_note(fd_.get(), previous_text_);
}

}  // namespace appshare
