#include "base/file_lock.hpp"

#include "base/heartbeat.hpp"
#include "base/interrupt.hpp"
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

void record_holder(int fd, const LockHolder& me)
{
    const nlohmann::json j = {{"host", me.host}, {"pid", me.pid}, {"domain", me.domain},
                              {"purpose", me.purpose}, {"since", utc_timestamp_now()}};
    const std::string text = j.dump() + "\n";
    // Best effort: the record only informs waiters; the lock itself is the kernel's.
    if (ftruncate(fd, 0) == 0) {
        [[maybe_unused]] const auto n = pwrite(fd, text.data(), text.size(), 0);
    }
}

}  // namespace

LockHolder this_process_holder(std::string who, std::string purpose)
{
    return LockHolder{this_host_name(), static_cast<long>(::getpid()), std::move(who), std::move(purpose)};
}

std::string describe_lock_holder(const std::filesystem::path& lock_file)
{
    UniqueFd fd(open(lock_file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd.valid()) return "an unknown process";
    std::string note;
    if (read_fd_head(fd.get(), kMaxHolderBytes, note) != 0 || note.empty()) return "an unknown process";
    const auto j = nlohmann::json::parse(note, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return "an unknown process";
    const auto str = [&](const char* k) { return j.contains(k) && j[k].is_string() ? j[k].get<std::string>() : std::string("?"); };
    const long pid = j.contains("pid") && j["pid"].is_number_integer() ? j["pid"].get<long>() : 0;
    return "pid " + std::to_string(pid) + " on " + str("host") + " (" + str("domain") + ", " + str("purpose") + ") since " + str("since");
}

Result<FileLock> FileLock::acquire(const std::filesystem::path& lock_file, std::chrono::milliseconds wait,
                                   const LockHolder& me, const WaitNotice& on_wait)
{
    UniqueFd fd(open(lock_file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644));
    if (!fd.valid()) {
        const int err = errno;
        if (err == ELOOP) {
            return make_error(ErrorCode::UnsafePath, "lock file " + lock_file.string() + " is a symbolic link; remove it, appshare never follows links on shared storage.");
        }
        return make_error(ErrorCode::Io, "cannot open lock file " + lock_file.string() + ": " + std::strerror(err) +
                                             "; check that the shared storage is mounted and writable.");
    }
    const auto deadline = std::chrono::steady_clock::now() + wait;
    auto pause = std::chrono::milliseconds(5);
    bool noticed = false;
    for (;;) {
        int err = 0;
        if (try_lock(fd.get(), err)) break;
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
    record_holder(fd.get(), me);
    return FileLock(std::move(fd), lock_file);
}

}  // namespace appshare
