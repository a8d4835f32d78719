#include "support/test_support.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <unistd.h>

extern char** environ;

namespace appshare::test {

TempDir::TempDir()
{
    const char* tmp = std::getenv("TMPDIR");
    std::string tmpl = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/appshare-test.XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    // 0711, not mkdtemp's 0700: QEMU runs as libvirt-qemu in the integration tests' sandbox and
    // must pass through to the files a test hands it (kernels, disks, consoles); nobody lists it.
    if (::chmod(tmpl.c_str(), 0711) != 0) throw std::runtime_error("chmod of a scratch folder failed");
    path_ = tmpl;
}

TempDir::~TempDir()
{
    std::error_code ec;
    // Tests make files read-only (bases are 0444); removal only needs the directory writable.
    std::filesystem::remove_all(path_, ec);
}

namespace {

std::vector<char*> c_argv(const std::vector<std::string>& argv)
{
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    return args;
}

}  // namespace

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
    auto args = c_argv(argv);
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
    result.status = wait_status(pid);
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
        if (r.output.find("Unable to get accurate CPU usage") == std::string::npos) break;
    }
    INFO("command: " << argv[0] << " ...\n" << r.output);
    REQUIRE(r.status == 0);
    return r.output;
}

pid_t spawn(const std::vector<std::string>& argv, const std::filesystem::path& input,
            const std::filesystem::path& output)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, input.c_str(), O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, output.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    auto args = c_argv(argv);
    pid_t pid = 0;
    const int rc = posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    INFO("cannot start " << argv[0] << ": " << std::strerror(rc));
    REQUIRE(rc == 0);
    return pid;
}

int wait_status(pid_t pid)
{
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string capture_stderr(const std::function<void()>& fn)
{
    TempDir dir;
    const auto file = dir / "stderr";
    std::fflush(stderr);
    // Puts the saved stderr back when this ends, also by an exception.
    struct Restore {
        int saved = ::dup(2);
        ~Restore()
        {
            std::fflush(stderr);
            ::dup2(saved, 2);
            ::close(saved);
        }
    } restore;
    REQUIRE(restore.saved >= 0);
    const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    REQUIRE(fd >= 0);
    ::dup2(fd, 2);
    ::close(fd);
    fn();
    std::fflush(stderr);
    return read_file(file);
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

std::string pseudo_random(std::size_t n, std::uint32_t seed)
{
    std::string s(n, '\0');
    std::uint32_t x = seed;
    for (auto& c : s) {
        x = x * 1664525u + 1013904223u;
        c = static_cast<char>(x >> 24);
    }
    return s;
}

std::vector<std::byte> file_bytes(const std::filesystem::path& p)
{
    const std::string s = read_file(p);
    const auto bytes = std::as_bytes(std::span(s.data(), s.size()));
    return {bytes.begin(), bytes.end()};
}

void write_bytes(const std::filesystem::path& p, std::span<const std::byte> bytes)
{
    write_file(p, std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

void put_be32(std::span<std::byte> b, std::size_t offset, std::uint32_t v)
{
    REQUIRE(offset + 4 <= b.size());
    for (int i = 0; i < 4; ++i) b[offset + static_cast<std::size_t>(i)] = static_cast<std::byte>(v >> (24 - 8 * i));
}

void put_be64(std::span<std::byte> b, std::size_t offset, std::uint64_t v)
{
    put_be32(b, offset, static_cast<std::uint32_t>(v >> 32));
    put_be32(b, offset + 4, static_cast<std::uint32_t>(v));
}

void flip_byte(const std::filesystem::path& p, std::uint64_t offset, std::uint8_t mask)
{
    std::filesystem::permissions(p, std::filesystem::perms::owner_write, std::filesystem::perm_options::add);
    std::fstream f(p, std::ios::in | std::ios::out | std::ios::binary);
    REQUIRE(f);
    f.seekg(static_cast<std::streamoff>(offset));
    const int c = f.get();
    REQUIRE(c != std::char_traits<char>::eof());
    f.seekp(static_cast<std::streamoff>(offset));
    f.put(static_cast<char>(c ^ mask));
    f.close();
    REQUIRE_FALSE(f.fail());
}

std::string openssl_sha256(const std::filesystem::path& file)
{
    const auto out = run_ok({"openssl", "dgst", "-sha256", "-r", file.string()});
    return out.substr(0, 64);
}

std::string env_text(const char* name)
{
    const char* v = std::getenv(name);
    return v != nullptr ? v : "";
}

bool has(const std::string& haystack, const std::string& needle)
{
    return haystack.find(needle) != std::string::npos;
}

std::string unique_name(const std::string& stem)
{
    static std::atomic<int> counter{0};
    return stem + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
}

std::filesystem::path source_dir() { return APPSHARE_TEST_SOURCE_DIR; }
std::filesystem::path data_dir() { return APPSHARE_TEST_DATA_DIR; }
std::filesystem::path appshare_bin() { return APPSHARE_TEST_BIN; }

std::filesystem::path hook_bin()
{
    const std::filesystem::path p = APPSHARE_TEST_HOOK_BIN;
    INFO("build the appshare-hook target first");
    REQUIRE(std::filesystem::exists(p));
    return p;
}

}  // namespace appshare::test
