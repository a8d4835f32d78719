// The hook at real domain starts, against the sandbox's private libvirtd and real QEMU (TCG):
// parallel starts load a missing base once, a busy lock is waited for or leads to an
// independent copy, damaged bases are reloaded, unloadable bases refuse the start cleanly.
#include "base/file_lock.hpp"
#include "instance/instance_state.hpp"
#include "image/qcow2_overlay.hpp"
#include "support/hook_sandbox.hpp"
#include "support/lock_holder.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <thread>
#include <vector>

#include <sys/stat.h>

using namespace appshare;
using namespace appshare::test;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

// Who holds the base's lock in the tests below (the hook's log must name it).
const LockHolder kLockHolder{"lockholder-host", 4242, "test", "holding for the test"};

Result<void> start(const Domain& dom) { return start_domain(dom); }

void require_started(const Domain& dom)
{
    auto r = start(dom);
    INFO((r ? std::string() : r.error().message));
    REQUIRE(r);
    CHECK(state_of(dom) == DomainState::Running);
}

std::uint64_t inode_of(const fs::path& p)
{
    struct stat st {};
    REQUIRE(::stat(p.c_str(), &st) == 0);
    return st.st_ino;
}

}  // namespace

TEST_CASE("eight domains sharing a missing base start in parallel and the base is loaded once", "[hook][integration]")
{
    HookFixture fx(sandbox_root("parallel"), 32);
    fx.config.lock_wait = 120s;
    Connection conn = serve_hook(fx);

    constexpr int kDomains = 8;
    std::vector<std::string> names;
    for (int i = 0; i < kDomains; ++i) {
        names.push_back(unique_name("par" + std::to_string(i)));
        (void)define(conn, fx.domain_xml(names.back()));
    }
    REQUIRE_FALSE(fs::exists(fx.shared_base()));

    std::vector<std::string> errors(kDomains);
    std::vector<std::thread> threads;
    for (int i = 0; i < kDomains; ++i) {
        threads.emplace_back([&, i] {
            auto c = open_connection("");
            if (!c) { errors[i] = c.error().message; return; }
            auto d = lookup_domain(*c, names[i]);
            if (!d) { errors[i] = d.error().message; return; }
            if (auto r = start_domain(*d); !r) errors[i] = r.error().message;
        });
    }
    for (auto& t : threads) t.join();

    for (int i = 0; i < kDomains; ++i) {
        INFO(names[i] << ": " << errors[i]);
        CHECK(errors[i].empty());
        auto d = lookup_domain(conn, names[i]);
        REQUIRE(d);
        CHECK(state_of(*d) == DomainState::Running);
        CHECK(backing_of(fx.overlay(names[i])) == fx.shared_base().string());
    }
    INFO(read_file(fx.log_file()));
    CHECK(fx.log_count("loaded " + fx.shared_base().string()) == 1);
    CHECK(fx.log_count("prepared on " + fx.shared_base().string() + " (shared)") == kDomains);
    CHECK(openssl_sha256(fx.shared_base()) == fx.base_sha);
    // No host-local copy: local_root holds at most this host's records of shared files.
    if (fs::exists(fx.config.local_root)) {
        for (const auto& e : fs::directory_iterator(fx.config.local_root)) CHECK(e.path().filename() == "verified-shared");
    }
}

TEST_CASE("a start waits for a busy lock, and falls back to an independent copy past the limit", "[hook][integration]")
{
    HookFixture fx(sandbox_root("lockwait"));
    fx.config.lock_wait = 20s;
    Connection conn = serve_hook(fx);
    const auto lock_file = fx.shared_base_lock();

    SECTION("released within the wait: the start waits, then runs on the shared base") {
        const std::string name = unique_name("wait");
        const auto dom = define(conn, fx.domain_xml(name));
        test::LockHolderProcess holder(lock_file, 3s, kLockHolder);
        const auto t0 = std::chrono::steady_clock::now();
        auto r = start(dom);
        const auto waited = std::chrono::steady_clock::now() - t0;
        holder.kill();
        INFO((r ? std::string() : r.error().message));
        REQUIRE(r);
        CHECK(state_of(dom) == DomainState::Running);
        CHECK(waited >= 2s);
        CHECK(fx.log_count("waiting for a lock held by pid 4242 on lockholder-host") >= 1);
        CHECK(backing_of(fx.overlay(name)) == fx.shared_base().string());
        CHECK(openssl_sha256(fx.shared_base()) == fx.base_sha);
    }
    SECTION("held past the limit: the start succeeds on a host-local copy, recorded as independent") {
        fx.config.lock_wait = 2s;
        write_config(fx);
        const std::string name = unique_name("indep");
        const auto dom = define(conn, fx.domain_xml(name));
        test::LockHolderProcess holder(lock_file, 60s, kLockHolder);
        auto r = start(dom);
        holder.kill();
        INFO((r ? std::string() : r.error().message));
        INFO(read_file(fx.log_file()));
        REQUIRE(r);
        CHECK(state_of(dom) == DomainState::Running);
        CHECK(backing_of(fx.overlay(name)) == fx.local_base().string());
        CHECK(openssl_sha256(fx.local_base()) == fx.base_sha);
        const auto state = fx.state(name);
        CHECK(state.mode == InstanceMode::Independent);
        CHECK_THAT(state.reason, Catch::Contains("lockholder-host"));
        CHECK(fx.log_count("switched to the independent copy") == 1);
    }
}

TEST_CASE("a damaged shared base is detected and reloaded before the domain runs", "[hook][integration]")
{
    HookFixture fx(sandbox_root("damaged"), 4);
    Connection conn = serve_hook(fx);
    const std::string name = unique_name("dmg");
    const auto dom = define(conn, fx.domain_xml(name));
    require_started(dom);
    REQUIRE(destroy_domain(dom));
    REQUIRE(openssl_sha256(fx.shared_base()) == fx.base_sha);
    const auto first_inode = inode_of(fx.shared_base());

    SECTION("one byte changed") { flip_byte(fx.shared_base(), fx.base_size - 4096); }
    SECTION("truncated") {
        fs::permissions(fx.shared_base(), fs::perms::owner_write, fs::perm_options::add);
        fs::resize_file(fx.shared_base(), fx.base_size / 2);
    }
    REQUIRE(openssl_sha256(fx.shared_base()) != fx.base_sha);
    // Keep the damaged inode alive under another name, so its number cannot be reused and we
    // can tell whether QEMU opened it.
    const auto damaged = fx.root / "damaged-inode";
    fs::create_hard_link(fx.shared_base(), damaged);
    const auto damaged_inode = inode_of(damaged);
    REQUIRE(damaged_inode == first_inode);

    require_started(dom);
    INFO(read_file(fx.log_file()));
    // The damaged file was removed and a verified copy published under the same name.
    CHECK(openssl_sha256(fx.shared_base()) == fx.base_sha);
    CHECK(inode_of(fx.shared_base()) != damaged_inode);
    CHECK(fx.log_count("loaded " + fx.shared_base().string()) == 2);
    CHECK(backing_of(fx.overlay(name)) == fx.shared_base().string());
    // What QEMU opened is the verified file, not the damaged inode.
    const auto live = domain_xml(dom);
    REQUIRE(live);
    CHECK_THAT(*live, Catch::Contains(fx.shared_base().string()));
    const auto qemu_pid = read_file("/run/libvirt/qemu/" + name + ".pid");
    bool opened_damaged = false;
    bool opened_base = false;
    for (const auto& fd : fs::directory_iterator("/proc/" + std::to_string(std::stol(qemu_pid)) + "/fd")) {
        struct stat st {};
        if (::stat(fd.path().c_str(), &st) != 0) continue;
        opened_damaged = opened_damaged || st.st_ino == damaged_inode;
        opened_base = opened_base || st.st_ino == inode_of(fx.shared_base());
    }
    CHECK(opened_base);
    CHECK_FALSE(opened_damaged);
}

TEST_CASE("no reachable source and no shared base: the start is refused, the context unchanged", "[hook][integration]")
{
    HookFixture fx(sandbox_root("refused"));
    fx.config.allowed_url_prefixes = {"http://127.0.0.1:1/"};
    Connection conn = serve_hook(fx);
    const std::string name = unique_name("ref");
    auto meta = fx.metadata(name);
    meta.source_urls = {"http://127.0.0.1:1/base.qcow2"};
    // The context exists (as install makes it), then the base's only copies disappear.
    fs::create_directories(fx.context_dir(name));
    REQUIRE(create_qcow2_overlay(fx.overlay(name), fx.shared_base(), "qcow2", 64 << 20));
    fs::remove(fx.source_base);
    const auto before = read_file(fx.overlay(name));
    const auto dom = define(conn, fx.domain_xml(name, meta));

    auto r = start(dom);
    REQUIRE_FALSE(r);
    INFO(r.error().message);
    CHECK_THAT(r.error().message, Catch::Contains("cannot start") && Catch::Contains("nor as a host-local copy") &&
                                      Catch::Contains("127.0.0.1:1/base.qcow2"));
    CHECK(state_of(dom) == DomainState::ShutOff);
    CHECK(read_file(fx.overlay(name)) == before);
    CHECK_FALSE(fs::exists(fx.context_dir(name) / "instance.json"));
    CHECK_FALSE(fs::exists(fx.shared_base()));
    CHECK_FALSE(fs::exists(fx.local_base()));
}
