// Header-only helpers for the tests of bookkeeping on shared storage (usage records, the hosts
// registry, gc): other hosts simulated through the library's own writers with their names,
// files made to look old, and the bad files another host (or an attacker) could leave.
#pragma once

#include "base/host_identity.hpp"
#include "base/time_format.hpp"
#include "store/host_registry.hpp"
#include "store/usage_records.hpp"
#include "support/test_support.hpp"

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace appshare::test {

inline std::string timestamp_ago(std::chrono::seconds ago)
{
    return utc_timestamp(std::chrono::system_clock::now() - ago);
}

// Host `name` in the registry, last seen `ago` ago.
inline void register_host(const std::filesystem::path& shared_root, const std::string& name, std::chrono::seconds ago,
                          const std::string& machine_id = "0123456789abcdef0123456789abcdef")
{
    REQUIRE(write_host_record(shared_root, HostRecord{name, machine_id, timestamp_ago(ago), "0.9-test"}));
}

// A usage record of domain `domain` on host `host` for base `sha`, written `ago` ago.
inline UsageRecord usage_record(const std::string& host, const std::string& domain, const std::string& sha,
                                std::chrono::seconds ago = std::chrono::seconds(0), const std::string& state = "running")
{
    UsageRecord r;
    r.host = host;
    r.domain = domain;
    r.base_sha256 = sha;
    r.mode = "shared";
    r.path = "/shared/" + sha + ".qcow2";
    r.since = timestamp_ago(ago);
    r.state = state;
    r.machine_id = host == this_host_name() ? this_machine_id() : "fedcba9876543210fedcba9876543210";
    return r;
}

inline void write_record(const std::filesystem::path& shared_root, const UsageRecord& r)
{
    auto w = write_usage_record(shared_root, r);
    INFO((w ? std::string() : w.error().message));
    REQUIRE(w);
}

// Sets a file's (or link's) modification and access times to `ago` ago.
inline void make_old(const std::filesystem::path& p, std::chrono::seconds ago)
{
    const auto t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now() - ago);
    const struct timespec times[2] = {{t, 0}, {t, 0}};
    REQUIRE(::utimensat(AT_FDCWD, p.c_str(), times, AT_SYMLINK_NOFOLLOW) == 0);
}

// The note a holder of `lock` would have left `ago` ago.
inline void write_old_lock_note(const std::filesystem::path& lock, std::chrono::seconds ago)
{
    write_file(lock, "{\"host\":\"otherhost\",\"pid\":4242,\"domain\":\"web9\",\"purpose\":\"load base\",\"since\":\"" +
                         timestamp_ago(ago) + "\"}\n");
}

// Makes every file of the store directory `dir` look `ago` old, as if nothing had used it
// since: modification times, the verification records' times, the lock files' holder notes.
inline void age_store(const std::filesystem::path& dir, std::chrono::seconds ago)
{
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        if (!e.is_regular_file()) continue;
        const auto name = e.path().filename().string();
        const auto ends = [&](const std::string& suffix) {
            return name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
        };
        if (ends(".verified")) {
            auto j = nlohmann::json::parse(read_file(e.path()));
            j["verified_at"] = timestamp_ago(ago);
            write_file(e.path(), j.dump());
        } else if (ends(".lock")) {
            write_old_lock_note(e.path(), ago);
        }
        make_old(e.path(), ago);
    }
}

// Bad files where a reader of `dir` looks (names ending in .json): a symlink to `valid_file`,
// a FIFO, a file larger than any record, garbage, and `control_json` (naming something with
// control characters) at `control_name`. Returns their paths.
inline std::vector<std::filesystem::path> plant_bad_files(const std::filesystem::path& dir,
                                                          const std::filesystem::path& valid_file,
                                                          const std::string& control_name, const std::string& control_json)
{
    std::filesystem::create_directories(dir);
    std::vector<std::filesystem::path> out{dir / "link.json", dir / "fifo.json", dir / "huge.json", dir / "garbage.json",
                                           dir / control_name};
    std::filesystem::create_symlink(valid_file, out[0]);
    REQUIRE(::mkfifo(out[1].c_str(), 0644) == 0);
    write_file(out[2], "{\"host\": \"" + std::string(200 * 1024, 'x') + "\"}");
    write_file(out[3], "\x01\x02{{{ not json");
    write_file(out[4], control_json);
    return out;
}

}  // namespace appshare::test
