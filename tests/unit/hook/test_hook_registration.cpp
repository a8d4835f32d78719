#include "hook/hook_registration.hpp"

#include "support/test_support.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

using namespace appshare;
namespace fs = std::filesystem;

namespace {

fs::path make_executable(const fs::path& p)
{
    test::write_file(p, "#!/bin/sh\nexit 0\n");
    fs::permissions(p, fs::perms::owner_all);
    return p;
}

double now_seconds()
{
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// A fake /proc entry: comm, stat (start time in field 22) and a mount namespace link.
void fake_process(const fs::path& proc, long pid, const std::string& comm, unsigned long long ticks,
                  const std::string& mnt_ns)
{
    const fs::path dir = proc / std::to_string(pid);
    fs::create_directories(dir / "ns");
    test::write_file(dir / "comm", comm + "\n");
    std::string stat = std::to_string(pid) + " (" + comm + ") S";
    for (int field = 4; field <= 21; ++field) stat += " 0";
    stat += " " + std::to_string(ticks) + " 0 0\n";
    test::write_file(dir / "stat", stat);
    fs::create_symlink(mnt_ns, dir / "ns" / "mnt");
}

}  // namespace

TEST_CASE("register_hook links qemu.d/appshare to the startup binary, never over another file",
          "[hook_registration]")
{
    test::TempDir tmp;
    const fs::path hooks = tmp / "hooks";
    const fs::path binary = make_executable(tmp / "appshare-hook");

    SECTION("first registration creates qemu.d and the link; the second changes nothing")
    {
        auto first = register_hook(hooks, binary);
        REQUIRE(first.has_value());
        CHECK(first->created);
        CHECK(first->link == hooks / "qemu.d" / "appshare");
        CHECK(fs::is_symlink(first->link));
        CHECK(fs::read_symlink(first->link) == binary);
        auto second = register_hook(hooks, binary);
        REQUIRE(second.has_value());
        CHECK_FALSE(second->created);
    }

    SECTION("another file of that name is refused and kept")
    {
        fs::create_directories(hooks / "qemu.d");
        test::write_file(hooks / "qemu.d" / "appshare", "someone else's hook");
        auto r = register_hook(hooks, binary);
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == ErrorCode::AlreadyExists);
        CHECK(r.error().message.find("never overwrites") != std::string::npos);
        CHECK(test::read_file(hooks / "qemu.d" / "appshare") == "someone else's hook");
    }

    SECTION("a link to another program is refused and kept")
    {
        const fs::path other = make_executable(tmp / "other");
        fs::create_directories(hooks / "qemu.d");
        fs::create_symlink(other, hooks / "qemu.d" / "appshare");
        auto r = register_hook(hooks, binary);
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == ErrorCode::AlreadyExists);
        CHECK(r.error().message.find(other.string()) != std::string::npos);
        CHECK(fs::read_symlink(hooks / "qemu.d" / "appshare") == other);
    }

    SECTION("a missing or non-executable binary is a Config error and nothing is created")
    {
        auto missing = register_hook(hooks, tmp / "nope");
        REQUIRE_FALSE(missing.has_value());
        CHECK(missing.error().code == ErrorCode::Config);
        test::write_file(tmp / "plain", "x");
        ::chmod((tmp / "plain").c_str(), 0644);
        CHECK_FALSE(register_hook(hooks, tmp / "plain").has_value());  // 0644: no x bit, even for root
        CHECK_FALSE(fs::exists(hooks / "qemu.d" / "appshare"));
    }

    SECTION("other hooks in qemu.d are left alone")
    {
        fs::create_directories(hooks / "qemu.d");
        make_executable(hooks / "qemu.d" / "10-other");
        REQUIRE(register_hook(hooks, binary).has_value());
        CHECK(test::read_file(hooks / "qemu.d" / "10-other") == "#!/bin/sh\nexit 0\n");
    }
    // libvirtd runs the hook as root: a binary someone else could change is never registered.
    SECTION("a binary writable by others is refused and nothing is created")
    {
        ::chmod(binary.c_str(), 0757);
        auto r = register_hook(hooks, binary);
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == ErrorCode::UnsafePath);
        CHECK_THAT(r.error().message, Catch::Contains("writable by users other than root"));
        CHECK_FALSE(fs::exists(hooks / "qemu.d" / "appshare"));
    }
    SECTION("group-writable: only for root's own group")
    {
        ::chmod(binary.c_str(), 0775);
        CHECK(register_hook(hooks, binary).has_value());
        fs::remove(hooks / "qemu.d" / "appshare");
        REQUIRE(::chown(binary.c_str(), 0, 65534) == 0);
        auto r = register_hook(hooks, binary);
        REQUIRE_FALSE(r.has_value());
        CHECK_THAT(r.error().message, Catch::Contains("writable by users other than root"));
    }
    SECTION("a binary not owned by root is refused")
    {
        REQUIRE(::chown(binary.c_str(), 65534, 65534) == 0);
        auto r = register_hook(hooks, binary);
        REQUIRE_FALSE(r.has_value());
        CHECK_THAT(r.error().message, Catch::Contains("not owned by root"));
    }
    SECTION("a binary in a folder others may write to (not sticky) is refused")
    {
        fs::create_directories(tmp / "open");
        ::chmod((tmp / "open").c_str(), 0777);
        const auto exposed = make_executable(tmp / "open" / "appshare-hook");
        auto r = register_hook(hooks, exposed);
        REQUIRE_FALSE(r.has_value());
        CHECK_THAT(r.error().message, Catch::Contains((tmp / "open").string()) && Catch::Contains("writable by users other than root"));
    }
}

TEST_CASE("unregister_hook removes appshare's link and marker, never another file", "[hook_registration]")
{
    test::TempDir tmp;
    const fs::path hooks = tmp / "hooks";
    const fs::path binary = make_executable(tmp / "appshare-hook");
    const fs::path link = hooks / "qemu.d" / "appshare";

    SECTION("appshare's link and reload marker go; other hooks stay; a second call finds nothing")
    {
        REQUIRE(register_hook(hooks, binary).has_value());
        test::write_file(hooks / ".appshare-reloaded", "libvirtd 1 2\n");
        const fs::path other = make_executable(hooks / "qemu.d" / "other");
        auto r = unregister_hook(hooks, binary);
        REQUIRE(r.has_value());
        CHECK(r->removed);
        CHECK_FALSE(fs::exists(fs::symlink_status(link)));
        CHECK_FALSE(fs::exists(hooks / ".appshare-reloaded"));
        CHECK(fs::exists(other));
        auto again = unregister_hook(hooks, binary);
        REQUIRE(again.has_value());
        CHECK_FALSE(again->removed);
    }
    SECTION("the link stays recognised after the binary itself is gone")
    {
        REQUIRE(register_hook(hooks, binary).has_value());
        fs::remove(binary);
        auto r = unregister_hook(hooks, binary);
        REQUIRE(r.has_value());
        CHECK(r->removed);
    }
    SECTION("another file or a link elsewhere of that name is refused and kept")
    {
        fs::create_directories(link.parent_path());
        SECTION("a file") { test::write_file(link, "#!/bin/sh\n"); }
        SECTION("a link elsewhere") { fs::create_symlink(tmp / "someone-else", link); }
        auto r = unregister_hook(hooks, binary);
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == ErrorCode::AlreadyExists);
        CHECK(fs::exists(fs::symlink_status(link)));
    }
}

TEST_CASE("find_libvirt_daemons reads libvirtd/virtqemud in our mount namespace from /proc",
          "[hook_registration]")
{
    test::TempDir tmp;
    const fs::path proc = tmp / "proc";
    fs::create_directories(proc / "self" / "ns");
    fs::create_symlink("mnt:[4026531841]", proc / "self" / "ns" / "mnt");
    test::write_file(proc / "stat", "cpu  1 2 3\nbtime 1700000000\nprocesses 5\n");
    const long hz = ::sysconf(_SC_CLK_TCK);
    fake_process(proc, 42, "libvirtd", 500ULL * static_cast<unsigned long long>(hz), "mnt:[4026531841]");
    fake_process(proc, 43, "virtqemud", 10, "mnt:[4026531841]");
    fake_process(proc, 44, "libvirtd", 10, "mnt:[4026539999]");  // another namespace (the host's)
    fake_process(proc, 45, "bash", 10, "mnt:[4026531841]");

    auto found = find_libvirt_daemons(proc);
    std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.pid < b.pid; });
    REQUIRE(found.size() == 2);
    CHECK(found[0].pid == 42);
    CHECK(found[0].name == "libvirtd");
    CHECK(found[0].start_ticks == 500ULL * static_cast<unsigned long long>(hz));
    CHECK(found[0].started_at == Approx(1700000500.0));
    CHECK(found[1].pid == 43);
    CHECK(found[1].name == "virtqemud");
}

TEST_CASE("daemons_needing_reload: started before the link and not reloaded since", "[hook_registration]")
{
    test::TempDir tmp;
    const fs::path hooks = tmp / "hooks";
    auto reg = register_hook(hooks, make_executable(tmp / "appshare-hook"));
    REQUIRE(reg.has_value());

    DaemonProcess old_daemon{7, "libvirtd", 100, now_seconds() - 3600};
    DaemonProcess new_daemon{8, "virtqemud", 200, now_seconds() + 60};

    SECTION("an older daemon needs a reload, a newer one does not")
    {
        const auto stale = daemons_needing_reload(hooks, reg->link, {old_daemon, new_daemon});
        REQUIRE(stale.size() == 1);
        CHECK(stale[0].pid == 7);
        const auto advice = reload_advice(stale);
        CHECK(advice.find("systemctl reload libvirtd") != std::string::npos);
        CHECK(advice.find("kill -HUP 7") != std::string::npos);
        CHECK(reload_advice({}).empty());
    }

    SECTION("after a recorded reload it does not, until the link is made again")
    {
        REQUIRE(record_reload(hooks, old_daemon).has_value());
        CHECK(daemons_needing_reload(hooks, reg->link, {old_daemon}).empty());
        // Another daemon (same pid, restarted: other start time) still needs one.
        DaemonProcess restarted = old_daemon;
        restarted.start_ticks = 101;
        CHECK(daemons_needing_reload(hooks, reg->link, {restarted}).size() == 1);

        ::usleep(20000);
        fs::remove(reg->link);
        REQUIRE(register_hook(hooks, tmp / "appshare-hook").has_value());
        CHECK(daemons_needing_reload(hooks, reg->link, {old_daemon}).size() == 1);
    }

    SECTION("no link: nothing to reload for")
    {
        fs::remove(reg->link);
        CHECK(daemons_needing_reload(hooks, reg->link, {old_daemon}).empty());
    }
}
