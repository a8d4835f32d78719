#include "base/bounded_call.hpp"

#include "base/heartbeat.hpp"
#include "base/interrupt.hpp"
#include "base/time_format.hpp"
#include "base/unique_handle.hpp"
#include "base/write_all.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <cstdint>
#include <optional>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace appshare {
namespace {

using Clock = std::chrono::steady_clock;

// The worker's messages on the pipe: a kind byte, a 4-byte length, the bytes.
constexpr char kHeartbeat = 'H';
constexpr char kLine = 'L';
constexpr char kResult = 'R';

int g_worker_fd = -1;
Clock::time_point g_last_beat{};

void send(char kind, std::string_view text) noexcept
{
    const auto n = static_cast<std::uint32_t>(text.size());
    std::array<char, 5> head{kind, static_cast<char>(n >> 24), static_cast<char>(n >> 16), static_cast<char>(n >> 8),
                             static_cast<char>(n)};
    static_cast<void>(write_all(g_worker_fd, head.data(), head.size()));
    static_cast<void>(write_all(g_worker_fd, text));
}

// At most ten heartbeats a second reach the pipe.
void beat() noexcept
{
    const auto now = Clock::now();
    if (now - g_last_beat < std::chrono::milliseconds(100)) return;
    g_last_beat = now;
    send(kHeartbeat, {});
}

[[noreturn]] void run_worker(int fd, const std::function<std::string(const LineFn&)>& work)
{
    g_worker_fd = fd;
    set_heartbeat(&beat);
    std::string result;
    try {
        result = work([](const std::string& line) { send(kLine, line); });
    } catch (...) {
        ::_exit(3);
    }
    send(kResult, result);
    ::_exit(0);
}

// Kills the worker without waiting for it: a process blocked on a network mount whose server is
// gone ends only when the file system gives up on the server (GlusterFS: after its ping
// timeout), even after SIGKILL. It is reaped if it ends at once, else left to whoever adopts it.
void abandon(pid_t pid)
{
    ::kill(pid, SIGKILL);
    for (int i = 0; i < 10; ++i) {
        int status = 0;
        if (::waitpid(pid, &status, WNOHANG) != 0) return;
        ::usleep(10000);
    }
}

// Takes the complete messages off the front of `buf`.
void take_messages(std::string& buf, const BoundedOptions& options, std::optional<std::string>& result)
{
    while (buf.size() >= 5) {
        const auto b = [&](std::size_t i) { return static_cast<std::uint32_t>(static_cast<unsigned char>(buf[i])); };
        const std::uint32_t n = b(1) << 24 | b(2) << 16 | b(3) << 8 | b(4);
        if (buf.size() < 5 + static_cast<std::size_t>(n)) return;
        std::string text = buf.substr(5, n);
        if (buf[0] == kLine && options.on_line) options.on_line(text);
        if (buf[0] == kResult) result = std::move(text);
        buf.erase(0, 5 + static_cast<std::size_t>(n));
    }
}

}  // namespace

Result<std::string> bounded_call(const std::function<std::string(const LineFn&)>& work, const BoundedOptions& options)
{
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        return make_error(ErrorCode::Internal, std::string("cannot create a pipe for ") + options.what + ": " + std::strerror(errno));
    }
    UniqueFd read_end(fds[0]);
    UniqueFd write_end(fds[1]);
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) return make_error(ErrorCode::Internal, std::string("cannot fork for ") + options.what + ": " + std::strerror(errno));
    if (pid == 0) {
        // The worker never outlives its caller: a hook killed mid-load must leave no process
        // behind that still holds the base's lock.
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) ::_exit(4);
        read_end.reset();
        run_worker(write_end.release(), work);
    }
    write_end.reset();

    std::string buf;
    std::optional<std::string> result;
    auto last_sign = Clock::now();
    for (;;) {
        if (interrupted()) {
            abandon(pid);
            return make_error(ErrorCode::Interrupted, "interrupted while waiting for " + options.what + ".");
        }
        const auto quiet = Clock::now() - last_sign;
        if (quiet >= options.stall) {
            abandon(pid);
            return make_error(ErrorCode::Io, options.what + " made no progress for " + format_seconds(options.stall) +
                                                 " (does it still answer?)");
        }
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(options.stall - quiet);
        pollfd p{read_end.get(), POLLIN, 0};
        const int wait_ms = static_cast<int>(std::clamp<std::chrono::milliseconds::rep>(left.count() + 1, 1, 100));
        if (::poll(&p, 1, wait_ms) <= 0) continue;
        std::array<char, 65536> chunk{};
        const ssize_t n = ::read(read_end.get(), chunk.data(), chunk.size());
        if (n < 0 && errno == EINTR) continue;
        if (n > 0) {
            last_sign = Clock::now();
            buf.append(chunk.data(), static_cast<std::size_t>(n));
            take_messages(buf, options, result);
            continue;
        }
        break;  // EOF: the worker is done or dead
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (result && WIFEXITED(status) && WEXITSTATUS(status) == 0) return std::move(*result);
    return make_error(ErrorCode::Internal, "the process working on " + options.what + " ended without an answer (" +
                                               (WIFSIGNALED(status) ? "signal " + std::to_string(WTERMSIG(status))
                                                                    : "exit status " + std::to_string(WEXITSTATUS(status))) +
                                               ")");
}

}  // namespace appshare
