#include "support/test_support.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace appshare::test {

TempDir::TempDir()
{
    const char* tmp = std::getenv("TMPDIR");
    std::string tmpl = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/appshare-test.XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
}

TempDir::~TempDir()
{
    std::error_code ec;
    // Tests make files read-only (bases are 0444); removal only needs the directory writable.
    std::filesystem::remove_all(path_, ec);
}

RunResult run(const std::vector<std::string>& argv)
{
    int pipefd[2];
    if (pipe(pipefd) != 0) throw std::runtime_error("pipe failed");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
    posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
    posix_spawn_file_actions_addclose(&fa, pipefd[0]);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = 0;
    const int rc = posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    close(pipefd[1]);
    RunResult result;
    if (rc != 0) {
        close(pipefd[0]);
        result.status = 127;
        result.output = "cannot run " + argv[0];
        return result;
    }
    std::array<char, 4096> buf{};
    ssize_t n = 0;
    while ((n = read(pipefd[0], buf.data(), buf.size())) > 0 || (n < 0 && errno == EINTR)) {
        if (n > 0) result.output.append(buf.data(), static_cast<size_t>(n));
    }
    close(pipefd[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    result.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return result;
}

std::string run_ok(const std::vector<std::string>& argv)
{
    auto r = run(argv);
    INFO("command: " << argv[0] << " ...\n" << r.output);
    REQUIRE(r.status == 0);
    return r.output;
}

std::string run_ok_retrying(const std::vector<std::string>& argv, int attempts)
{
    RunResult r;
    for (int i = 0; i < attempts; ++i) {
        r = run(argv);
        if (r.status == 0) return r.output;
    }
    INFO("command: " << argv[0] << " ...\n" << r.output);
    REQUIRE(r.status == 0);
    return r.output;
}

void write_file(const std::filesystem::path& p, const std::string& content)
{
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out << content;
    if (!out) throw std::runtime_error("cannot write " + p.string());
}

std::string read_file(const std::filesystem::path& p)
{
    std::ifstream in(p, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::filesystem::path source_dir() { return APPSHARE_TEST_SOURCE_DIR; }
std::filesystem::path data_dir() { return APPSHARE_TEST_DATA_DIR; }
std::filesystem::path appshare_bin() { return APPSHARE_TEST_BIN; }

}  // namespace appshare::test
