// Helpers shared by the tests: scratch directories, running real programs, small file I/O.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

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

// Like run_ok, but tries up to `attempts` times: for qemu-img's LUKS key setup, whose PBKDF
// calibration fails now and then on a loaded machine ("Unable to get accurate CPU usage").
std::string run_ok_retrying(const std::vector<std::string>& argv, int attempts = 4);

void write_file(const std::filesystem::path& p, const std::string& content);
std::string read_file(const std::filesystem::path& p);

// Paths baked in by tests/CMakeLists.txt.
std::filesystem::path source_dir();
std::filesystem::path data_dir();
std::filesystem::path appshare_bin();

}  // namespace appshare::test
