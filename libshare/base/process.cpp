#include "base/process.hpp"

#include "base/unique_handle.hpp"

#include <array>
#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace appshare {

Result<ProgramOutput> run_program(const std::vector<std::string>& argv)
{
    if (argv.empty()) return make_error(ErrorCode::Internal, "run_program called without a program.");
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        return make_error(ErrorCode::Io, std::string("cannot create a pipe to run ") + argv[0] + ": " + std::strerror(errno) + ".");
    }
    UniqueFd read_end(fds[0]);
    UniqueFd write_end(fds[1]);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, write_end.get(), 1);
    posix_spawn_file_actions_adddup2(&actions, write_end.get(), 2);

    std::vector<char*> args;
    args.reserve(argv.size() + 1);
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);

    pid_t pid = 0;
    const int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    write_end.reset();
    if (rc != 0) {
        return make_error(ErrorCode::Io, "cannot run " + argv[0] + ": " + std::strerror(rc) +
                                             "; install it (scripts/install-deps.sh) or check PATH.");
    }
    ProgramOutput out;
    std::array<char, 4096> buf{};
    for (;;) {
        const ssize_t n = read(read_end.get(), buf.data(), buf.size());
        if (n > 0) {
            if (out.output.size() < 1024 * 1024) out.output.append(buf.data(), static_cast<std::size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        break;
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            return make_error(ErrorCode::Io, "lost track of " + argv[0] + ": " + std::strerror(errno) + ".");
        }
    }
    out.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return out;
}

}  // namespace appshare
