#include "base/process.hpp"

#include "base/interrupt.hpp"
#include "base/unique_handle.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <thread>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace appshare {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// How often a run with a deadline or interrupt checks them while the program is quiet.
constexpr milliseconds kPollStep{20};

void kill_and_reap(pid_t pid)
{
    ::kill(pid, SIGKILL);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
}

// Reads what is there (non-blocking read end), keeping at most `max` bytes. False at EOF.
bool drain(int fd, std::string& out, std::size_t max)
{
    std::array<char, 4096> buf{};
    for (;;) {
        const ssize_t n = ::read(fd, buf.data(), buf.size());
        if (n > 0) {
            const auto keep = std::min(static_cast<std::size_t>(n), max - std::min(max, out.size()));
            out.append(buf.data(), keep);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        return n < 0;  // EAGAIN: more may come; 0: EOF
    }
}

}  // namespace

std::optional<std::string> find_program(const std::string& name)
{
    if (name.find('/') != std::string::npos) return name;
    const char* path = std::getenv("PATH");
    std::string_view dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
    while (true) {
        const auto colon = dirs.find(':');
        const std::string_view dir = dirs.substr(0, colon);
        std::string candidate(dir.empty() ? std::string_view(".") : dir);
        candidate += '/';
        candidate += name;
        struct stat st {};
        if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(candidate.c_str(), X_OK) == 0) {
            return candidate;
        }
        if (colon == std::string_view::npos) return std::nullopt;
        dirs.remove_prefix(colon + 1);
    }
}

Result<ProgramOutput> run_program(const std::vector<std::string>& argv, const RunOptions& options)
{
    if (argv.empty()) return make_error(ErrorCode::Internal, "run_program called without a program.");
    const auto program = find_program(argv[0]);
    if (!program) {
        return make_error(ErrorCode::Io, "cannot run " + argv[0] +
                                             ": it is not on PATH; install it (scripts/install-deps.sh) or check PATH.");
    }
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        return make_error(ErrorCode::Io, "cannot create a pipe to run " + argv[0] + ": " + std::strerror(errno) + ".");
    }
    UniqueFd read_end(fds[0]);
    UniqueFd write_end(fds[1]);
    ::fcntl(read_end.get(), F_SETFL, ::fcntl(read_end.get(), F_GETFL) | O_NONBLOCK);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, write_end.get(), 1);
    posix_spawn_file_actions_adddup2(&actions, write_end.get(), 2);
    for (const auto& [here, there] : options.pass_fds) posix_spawn_file_actions_adddup2(&actions, here, there);

    std::vector<char*> args;
    args.reserve(argv.size() + 1);
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);

    const auto start = Clock::now();
    pid_t pid = 0;
    const int rc = ::posix_spawn(&pid, program->c_str(), &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    write_end.reset();
    if (rc != 0) {
        return make_error(ErrorCode::Io, "cannot run " + argv[0] + ": " + std::strerror(rc) +
                                             "; install it (scripts/install-deps.sh) or check PATH.");
    }

    ProgramOutput out;
    bool open = true;
    for (;;) {
        int status = 0;
        const pid_t w = ::waitpid(pid, &status, WNOHANG);
        if (w == pid) {
            if (open) drain(read_end.get(), out.output, options.max_output);
            out.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            break;
        }
        if (w < 0 && errno != EINTR) {  // lost the child (SIGCHLD ignored?): no answer
            kill_and_reap(pid);
            out.end = RunEnd::Killed;
            break;
        }
        const auto spent = Clock::now() - start;
        if (options.stop_on_interrupt && interrupted()) {
            kill_and_reap(pid);
            out.end = RunEnd::Interrupted;
            break;
        }
        auto step = kPollStep;
        if (options.deadline) {
            if (spent >= *options.deadline) {
                kill_and_reap(pid);
                out.end = RunEnd::Killed;
                break;
            }
            step = std::min(step, std::chrono::duration_cast<milliseconds>(*options.deadline - spent) + milliseconds(1));
        }
        // Without a deadline or interrupt to watch, wait for output as long as it takes.
        const bool watching = options.deadline || options.stop_on_interrupt;
        if (!open) {
            std::this_thread::sleep_for(step);
            continue;
        }
        pollfd p{read_end.get(), POLLIN, 0};
        if (::poll(&p, 1, watching ? static_cast<int>(step.count()) : -1) > 0) {
            open = drain(read_end.get(), out.output, options.max_output);
        }
        if (!open && !watching) {  // the program closed its output: wait for its end
            while (::waitpid(pid, &status, 0) < 0) {
                if (errno != EINTR) {
                    return make_error(ErrorCode::Io, "lost track of " + argv[0] + ": " + std::strerror(errno) + ".");
                }
            }
            out.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            break;
        }
    }
    out.elapsed = std::chrono::duration_cast<milliseconds>(Clock::now() - start);
    return out;
}

}  // namespace appshare
