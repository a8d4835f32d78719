// The loader killed with SIGKILL at random points of a load: the hook binary is driven
// directly (`appshare-hook NAME prepare begin -`, the domain XML on stdin), loading from a
// throttled web server so that kills land in the middle of the copy. A base at its final name
// must always be complete, the lock must be free afterwards, and the next run must succeed.
#include "base/file_lock.hpp"
#include "support/hook_sandbox.hpp"
#include "support/http_server.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <thread>

#include <unistd.h>

using namespace appshare;
using namespace appshare::test;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

// Temporary files in `dir` whose names start with `prefix` (default: any appshare temporary file).
int count_parts(const fs::path& dir, const std::string& prefix = "")
{
    int n = 0;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        const auto name = e.path().filename().string();
        n += prefix.empty() ? name.find(".part-") != std::string::npos : name.rfind(prefix, 0) == 0;
    }
    return n;
}

}  // namespace

TEST_CASE("a loader killed with SIGKILL never leaves a partial base or a held lock", "[hook][integration][kill]")
{
    const auto root = sandbox_root("kill");
    HookFixture fx(root, 8);
    // Only the web server is a source: about 0.5 s per load.
    auto server = HttpServer::throttled(fx.source_dir, 16.0 * 1024 * 1024, root);
    fx.config.allowed_url_prefixes = {server.url()};
    fx.config.lock_wait = 30s;
    const auto conf = root / "appshare.conf";
    write_config_file(conf, fx.config);
    REQUIRE(::setenv("APPSHARE_CONFIG", conf.c_str(), 1) == 0);
    const std::string name = unique_name("kill");
    auto meta = fx.metadata(name);
    meta.source_files.clear();
    meta.source_urls = {server.url("base.qcow2")};
    const auto xml = root / "domain.xml";
    write_file(xml, fx.domain_xml(name, meta));
    // The hook binary as libvirt runs it, the domain XML on its stdin.
    const std::vector<std::string> hook{hook_bin().string(), name, "prepare", "begin", "-"};
    const auto final_path = fx.shared_base();
    const auto lock_file = BlobStore(fx.config.shared_root).lock_path_of(fx.base_spec());

    // Watches the final name the whole time: whenever a file is there, it has the full size.
    std::atomic<bool> stop{false};
    std::atomic<int> short_sightings{0};
    std::thread watcher([&] {
        while (!stop) {
            std::error_code ec;
            const auto size = fs::file_size(final_path, ec);
            if (!ec && size != fx.base_size) ++short_sightings;
            std::this_thread::sleep_for(1ms);
        }
    });

    std::mt19937 rng(static_cast<unsigned>(::getpid()));
    std::uniform_int_distribution<int> delay_ms(0, 700);
    int killed_mid_load = 0;
    constexpr int kRounds = 24;
    for (int round = 0; round < kRounds; ++round) {
        const pid_t pid = spawn(hook, xml);
        std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(rng)));
        ::kill(pid, SIGKILL);
        const int status = wait_status(pid);
        INFO("round " << round << " status " << status);
        if (fs::exists(final_path)) {
            // Published: complete and right. Remove it so the next round loads again.
            CHECK(openssl_sha256(final_path) == fx.base_sha);
            fs::remove(final_path);
            fs::remove(shared_store(fx.config).record_path_of(fx.base_spec()));
        } else if (count_parts(fx.config.shared_root, "." + final_path.filename().string() + ".part-") > 0) {
            ++killed_mid_load;
        }
        // The lock is free: the kernel drops it with the hook's worker process, which dies with
        // the hook (a moment later: a waiter's bounded wait covers that).
        auto lock = FileLock::acquire(lock_file, 2000ms, LockHolder{"test", ::getpid(), "test", "check"});
        CHECK(lock);
    }
    stop = true;
    watcher.join();
    CHECK(short_sightings == 0);
    INFO("kills that landed in the middle of a load: " << killed_mid_load);
    CHECK(killed_mid_load >= kRounds / 3);

    // The next run completes: base published and right, leftovers of the dead loaders removed.
    const pid_t pid = spawn(hook, xml);
    CHECK(wait_status(pid) == 0);
    CHECK(openssl_sha256(final_path) == fx.base_sha);
    CHECK(count_parts(fx.config.shared_root) == 0);
    CHECK(count_parts(fx.context_dir(name)) == 0);
    CHECK(backing_of(fx.overlay(name)) == final_path.string());
    ::unsetenv("APPSHARE_CONFIG");
}
