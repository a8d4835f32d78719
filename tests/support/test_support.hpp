// Helpers shared by all tests: scratch directories, running and spawning real programs, small
// file I/O and byte edits, an independent SHA-256, names no other test uses.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include <sys/types.h>

namespace appshare::test {

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it on destruction.
class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }
    [[nodiscard]] std::filesystem::path operator/(const std::filesystem::path& p) const { return path_ / p; }

private:
    std::filesystem::path path_;
};

struct RunResult {
    int status = -1;      // exit status, or 128+signal
    std::string output;   // stdout and stderr, interleaved
};

// Runs argv (no shell) and collects its output.
RunResult run(const std::vector<std::string>& argv);

// Runs argv and fails the current test (Catch2 REQUIRE) unless it exits 0.
std::string run_ok(const std::vector<std::string>& argv);

// Like run_ok, but for qemu-img's LUKS key setup: tries again, up to `attempts` times, while it
// fails with "Unable to get accurate CPU usage". QEMU 7.2 times its first PBKDF round (about 2 ms
// with SHA-NI) with thread CPU time, which the kernel counts in ticks, so the round often reads as
// 0 ms: 6 of 30 tries on a quiet machine, and CI once saw 4 in a row. A failed try costs that one
// round; any other failure is reported at once.
std::string run_ok_retrying(const std::vector<std::string>& argv, int attempts = 40);

// Starts argv (no shell) with stdin read from `input` and stdout and stderr written to `output`
// (created or truncated), and returns its pid at once; fails the current test if it cannot.
pid_t spawn(const std::vector<std::string>& argv, const std::filesystem::path& input = "/dev/null",
            const std::filesystem::path& output = "/dev/null");

// Waits for the process `pid`: its exit status, or 128+signal.
int wait_status(pid_t pid);

// Runs `fn` with this process's stderr sent to a file and returns what was written there;
// stderr is restored also when `fn` fails the test (a failed REQUIRE throws).
std::string capture_stderr(const std::function<void()>& fn);

void write_file(const std::filesystem::path& p, const std::string& content);
std::string read_file(const std::filesystem::path& p);

// Deterministic pseudo-random bytes (not all zeros, so a wrong offset changes a digest).
std::string pseudo_random(std::size_t n, std::uint32_t seed);

// A file as bytes, and bytes as a file.
std::vector<std::byte> file_bytes(const std::filesystem::path& p);
void write_bytes(const std::filesystem::path& p, std::span<const std::byte> bytes);

// Big-endian fields written into a byte buffer (as in a qcow2 header).
void put_be32(std::span<std::byte> b, std::size_t offset, std::uint32_t v);
void put_be64(std::span<std::byte> b, std::size_t offset, std::uint64_t v);

// Damages `p` in place, size and inode kept: the byte at `offset` XOR `mask` (the file is made
// writable for its owner first; bases are read-only).
void flip_byte(const std::filesystem::path& p, std::uint64_t offset, std::uint8_t mask = 0x01);

// SHA-256 of a file, via OpenSSL's command line (independent of the code under test).
std::string openssl_sha256(const std::filesystem::path& file);

// The environment variable `name`, or "" when it is not set.
std::string env_text(const char* name);

bool has(const std::string& haystack, const std::string& needle);

// "<stem>-<pid>-<n>", a new name at every call: no other test case, section (Catch2 runs a
// test case's set-up again for each one) or test process running in parallel uses it.
std::string unique_name(const std::string& stem);

// Paths baked in by tests/CMakeLists.txt.
std::filesystem::path source_dir();
std::filesystem::path data_dir();
std::filesystem::path appshare_bin();
// The built appshare-hook; fails the current test when it was not built.
std::filesystem::path hook_bin();

}  // namespace appshare::test
