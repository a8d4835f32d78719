// Holding an appshare lock from another process, as a concurrent start on another host would.
#pragma once

#include "base/file_lock.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <thread>

#include <sys/wait.h>
#include <unistd.h>

namespace appshare::test {

// A child process that holds `lock_file` for `hold`, or until kill() or destruction (SIGKILL),
// recorded as `who` (pid 0: the child's own pid). The constructor returns once the child holds it.
class LockHolderProcess {
public:
    LockHolderProcess(const std::filesystem::path& lock_file, std::chrono::milliseconds hold,
                      LockHolder who = LockHolder{"otherhost", 4242, "other", "test holder"})
    {
        int fds[2];
        REQUIRE(pipe(fds) == 0);
        pid_ = fork();
        REQUIRE(pid_ >= 0);
        if (pid_ == 0) {
            if (who.pid == 0) who.pid = getpid();
            auto lock = FileLock::acquire(lock_file, std::chrono::milliseconds(0), who);
            const char c = lock ? 'y' : 'n';
            [[maybe_unused]] auto n = write(fds[1], &c, 1);
            std::this_thread::sleep_for(hold);
            _exit(0);
        }
        close(fds[1]);
        char c = 0;
        const auto got = read(fds[0], &c, 1);
        close(fds[0]);
        REQUIRE(got == 1);
        REQUIRE(c == 'y');
    }
    LockHolderProcess(const LockHolderProcess&) = delete;
    LockHolderProcess& operator=(const LockHolderProcess&) = delete;
    ~LockHolderProcess() { kill(); }

    [[nodiscard]] pid_t pid() const noexcept { return pid_; }

    // Kills the holder now (SIGKILL, as a crash would) and reaps it; the kernel drops its lock.
    void kill()
    {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
        pid_ = -1;
    }

private:
    pid_t pid_ = -1;
};

}  // namespace appshare::test
