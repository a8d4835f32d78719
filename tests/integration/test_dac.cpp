// Guests under libvirt's default security model, as users run them: QEMU as libvirt-qemu:kvm,
// the DAC driver chowning what QEMU must open at start and restoring it at stop (the sandbox's
// qemu.conf). The context is private (folder 0711, overlay and instance.json 0600), the overlay
// is handed to QEMU's user while the guest runs and back to root afterwards, QEMU opens the
// base through the context's link, and the shared base keeps its owner, mode and ctime: the
// domain XML names the link with relabel='no'. A domain an older appshare defined (no backing
// chain in its XML, overlay backed by the base itself) still starts, and reshare fixes it.
#include "base/file_lock.hpp"
#include "image/qcow2_overlay.hpp"
#include "instance/domain_xml.hpp"
#include "instance/instance_state.hpp"
#include "support/hook_sandbox.hpp"
#include "support/lock_holder.hpp"
#include "virt/reshare_domain.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <pwd.h>
#include <sys/stat.h>
#include <sys/xattr.h>

using namespace appshare;
using namespace appshare::test;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

struct Owner {
    uid_t uid;
    gid_t gid;
};

Owner qemu_user()
{
    const struct passwd* pw = ::getpwnam("libvirt-qemu");
    INFO("libvirt's QEMU user libvirt-qemu must exist (Debian's libvirt-daemon-system makes it)");
    REQUIRE(pw != nullptr);
    return {pw->pw_uid, pw->pw_gid};
}

struct stat lstat_of(const fs::path& p)
{
    struct stat st {};
    INFO(p);
    REQUIRE(::lstat(p.c_str(), &st) == 0);
    return st;
}

mode_t mode_of(const fs::path& p) { return lstat_of(p).st_mode & 07777; }

// What a relabelling would change: owner, group, mode, ctime (chown and xattrs both set it).
struct Label {
    uid_t uid;
    gid_t gid;
    mode_t mode;
    struct timespec ctime;
};

Label label_of(const fs::path& p)
{
    const auto st = lstat_of(p);
    return {st.st_uid, st.st_gid, st.st_mode & 07777, st.st_ctim};
}

void check_same_label(const fs::path& p, const Label& before)
{
    const auto now = label_of(p);
    INFO(p << ": owner " << now.uid << ":" << now.gid << " mode " << std::oct << now.mode << std::dec << " (was "
           << before.uid << ":" << before.gid << ")");
    CHECK(now.uid == before.uid);
    CHECK(now.gid == before.gid);
    CHECK(now.mode == before.mode);
    CHECK(now.ctime.tv_sec == before.ctime.tv_sec);
    CHECK(now.ctime.tv_nsec == before.ctime.tv_nsec);
}

// libvirt's remembered labels (trusted.libvirt.security.*) on `p`.
std::vector<std::string> libvirt_xattrs(const fs::path& p)
{
    std::vector<char> names(4096);
    const ssize_t n = ::llistxattr(p.c_str(), names.data(), names.size());
    std::vector<std::string> out;
    for (ssize_t at = 0; n > 0 && at < n; at += static_cast<ssize_t>(std::strlen(names.data() + at)) + 1) {
        std::string name(names.data() + at);
        if (name.rfind("trusted.libvirt.", 0) == 0) out.push_back(name);
    }
    return out;
}

long qemu_pid_of(const std::string& name) { return std::stol(read_file("/run/libvirt/qemu/" + name + ".pid")); }

// The uid QEMU runs as (the real uid in /proc/PID/status).
uid_t qemu_uid(long pid)
{
    const auto status = read_file("/proc/" + std::to_string(pid) + "/status");
    const auto at = status.find("\nUid:");
    REQUIRE(at != std::string::npos);
    return static_cast<uid_t>(std::stoul(status.substr(at + 5)));
}

// The files (as the kernel names them) QEMU holds open.
std::vector<std::string> open_paths(long pid)
{
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& fd : fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
        auto target = fs::read_symlink(fd.path(), ec);
        if (!ec) out.push_back(target.string());
    }
    return out;
}

bool holds(const std::vector<std::string>& open, const fs::path& p)
{
    return std::find(open.begin(), open.end(), p.string()) != open.end();
}

void require_started(const Domain& dom, const HookFixture& fx)
{
    auto r = start_domain(dom);
    INFO((r ? std::string() : r.error().message));
    INFO((fs::exists(fx.log_file()) ? read_file(fx.log_file()) : std::string()));
    REQUIRE(r);
    REQUIRE(state_of(dom) == DomainState::Running);
}

}  // namespace

TEST_CASE("dac: the sandbox runs QEMU as libvirt-qemu with libvirt's DAC driver", "[integration][dac]")
{
    Connection conn = connect_sandbox();
    const auto caps = run_ok({"virsh", "-q", "capabilities"});
    const Owner qemu = qemu_user();
    INFO(caps);
    CHECK_THAT(caps, Catch::Contains("<model>dac</model>"));
    CHECK_THAT(caps, Catch::Contains("+" + std::to_string(qemu.uid) + ":+" + std::to_string(qemu.gid)));
    // /dev/kvm is hidden in the sandbox's mount namespace only (host_isolation.sh checks the host's).
    if (fs::exists("/dev/kvm")) {
        const auto kvm = lstat_of("/dev/kvm");
        const auto null = lstat_of("/dev/null");
        CHECK(kvm.st_rdev == null.st_rdev);
    }
}

TEST_CASE("dac: a guest starts and stops with a private context and an untouched shared base", "[integration][dac]")
{
    HookFixture fx(sandbox_root("dac"));
    Connection conn = serve_hook(fx);
    const Owner qemu = qemu_user();
    const std::string name = unique_name("dac");
    const auto dom = define(conn, fx.domain_xml(name));

    // The first start loads the base (a new file) and makes the context.
    require_started(dom, fx);
    REQUIRE(destroy_domain(dom));
    const Label base_before = label_of(fx.shared_base());
    CHECK(base_before.uid == 0);
    CHECK(base_before.mode == 0444);

    require_started(dom, fx);
    const long pid = qemu_pid_of(name);
    CHECK(qemu_uid(pid) == qemu.uid);
    // Modes of everything the context holds (and of the folders QEMU passes through).
    CHECK(mode_of(fx.context_dir(name)) == 0711);
    CHECK(mode_of(fx.overlay(name)) == 0600);
    CHECK(mode_of(fx.context_dir(name) / "instance.json") == 0600);
    CHECK(mode_of(fx.config.shared_root) == 0711);
    CHECK(lstat_of(fx.context_dir(name) / "instance.json").st_uid == 0);
    // While it runs the overlay belongs to QEMU's user (libvirt remembers root in its xattrs).
    CHECK(lstat_of(fx.overlay(name)).st_uid == qemu.uid);
    CHECK(lstat_of(fx.overlay(name)).st_gid == qemu.gid);
    // QEMU opened the shared base through the link: the kernel names the link's target.
    CHECK(fs::read_symlink(fx.base_link(name)) == fx.shared_base());
    CHECK(header_backing_of(fx.overlay(name)) == fx.base_link(name).string());
    const auto open = open_paths(pid);
    INFO("QEMU holds open: " << [&] { std::string s; for (const auto& p : open) s += p + " "; return s; }());
    CHECK(holds(open, fx.shared_base()));
    CHECK(holds(open, fx.overlay(name)));
    // ... without libvirt touching it: same owner, mode and ctime, no remembered label.
    check_same_label(fx.shared_base(), base_before);
    CHECK(libvirt_xattrs(fx.shared_base()).empty());
    const auto live = domain_xml(dom);
    REQUIRE(live);
    CHECK(backing_chain_spelled_out(*live, fx.overlay(name), fx.base_link(name)));

    REQUIRE(destroy_domain(dom));
    // The overlay is root's again, and the base was never relabelled.
    CHECK(lstat_of(fx.overlay(name)).st_uid == 0);
    CHECK(lstat_of(fx.overlay(name)).st_gid == 0);
    CHECK(mode_of(fx.overlay(name)) == 0600);
    CHECK(libvirt_xattrs(fx.overlay(name)).empty());
    check_same_label(fx.shared_base(), base_before);
    CHECK(openssl_sha256(fx.shared_base()) == fx.base_sha);
}

TEST_CASE("dac: the fallback re-points the base link and QEMU opens the host-local copy", "[integration][dac]")
{
    HookFixture fx(sandbox_root("dacfb"));
    fx.config.lock_wait = 1s;
    Connection conn = serve_hook(fx);
    const std::string name = unique_name("dacfb");
    const auto dom = define(conn, fx.domain_xml(name));
    require_started(dom, fx);
    REQUIRE(destroy_domain(dom));
    const auto header = read_file(fx.overlay(name)).substr(0, 65536);

    {
        const LockHolderProcess holder(fx.shared_base_lock(), 60s, LockHolder{"elsewhere", 7, "x", "hold"});
        require_started(dom, fx);
    }
    CHECK(fx.state(name).mode == InstanceMode::Independent);
    CHECK(fs::read_symlink(fx.base_link(name)) == fx.local_base());
    CHECK(mode_of(fx.config.local_root) == 0711);
    CHECK(mode_of(fx.local_base()) == 0444);
    const auto open = open_paths(qemu_pid_of(name));
    CHECK(holds(open, fx.local_base()));
    CHECK_FALSE(holds(open, fx.shared_base()));
    const Label local_running = label_of(fx.local_base());
    CHECK(local_running.uid == 0);
    REQUIRE(destroy_domain(dom));
    check_same_label(fx.local_base(), local_running);
    // Only the link moved: the overlay's header is as the first start left it.
    CHECK(read_file(fx.overlay(name)).substr(0, 65536) == header);

    // reshare moves it back by the link too, and QEMU opens the shared base again.
    auto back = reshare_domain(conn, name, fx.config);
    INFO((back ? std::string() : back.error().message));
    REQUIRE(back);
    CHECK(fs::read_symlink(fx.base_link(name)) == fx.shared_base());
    CHECK(read_file(fx.overlay(name)).substr(0, 65536) == header);
    require_started(dom, fx);
    CHECK(holds(open_paths(qemu_pid_of(name)), fx.shared_base()));
    REQUIRE(destroy_domain(dom));
}

TEST_CASE("dac: a domain an older appshare defined keeps working, and reshare gives it its backing chain",
          "[integration][dac][legacy]")
{
    HookFixture fx(sandbox_root("daclegacy"));
    Connection conn = serve_hook(fx);
    const std::string name = unique_name("legacy");
    // As an older appshare installed it: context 0755, overlay 0644 backed by the shared base
    // itself (the base is loaded by the first start), no link, no backing chain in the XML.
    fs::create_directories(fx.context_dir(name));
    fs::permissions(fx.context_dir(name), fs::perms(0755));
    run_ok({"qemu-img", "create", "-q", "-f", "qcow2", "-o", "cluster_size=65536", "-F", "qcow2", "-b",
            fx.shared_base().string(), "-u", fx.overlay(name).string(), "64M"});
    fs::permissions(fx.overlay(name), fs::perms(0644));
    const auto dom = define(conn, fx.domain_xml(name, HookFixture::Chain::Legacy));
    {
        const auto xml = domain_xml(dom, DomainXmlKind::Inactive);
        REQUIRE(xml);
        REQUIRE_FALSE(backing_chain_spelled_out(*xml, fx.overlay(name), fx.base_link(name)));
    }

    require_started(dom, fx);
    // The hook moved the overlay onto the link natively and made the context private.
    CHECK(header_backing_of(fx.overlay(name)) == fx.base_link(name).string());
    CHECK(fs::read_symlink(fx.base_link(name)) == fx.shared_base());
    CHECK(mode_of(fx.context_dir(name)) == 0711);
    CHECK(mode_of(fx.overlay(name)) == 0600);
    CHECK(holds(open_paths(qemu_pid_of(name)), fx.shared_base()));
    CHECK(fx.log_count("re-pointed the overlay") == 1);
    CHECK(fx.log_count("does not name its base link with relabel='no'") == 1);
    // Without the chain in its XML libvirt probed the overlay and relabelled what the link
    // points at (what this start did to the base is reported, not required).
    const auto relabelled = label_of(fx.shared_base());
    WARN("an older definition's start left the shared base owned by " << relabelled.uid << ":" << relabelled.gid);
    REQUIRE(destroy_domain(dom));

    auto fixed = reshare_domain(conn, name, fx.config);
    INFO((fixed ? std::string() : fixed.error().message));
    REQUIRE(fixed);
    CHECK(fixed->definition_updated);
    {
        const auto xml = domain_xml(dom, DomainXmlKind::Inactive);
        REQUIRE(xml);
        CHECK(backing_chain_spelled_out(*xml, fx.overlay(name), fx.base_link(name)));
    }
    // From now on a start leaves the base alone.
    const Label base_before = label_of(fx.shared_base());
    require_started(dom, fx);
    check_same_label(fx.shared_base(), base_before);
    REQUIRE(destroy_domain(dom));
    check_same_label(fx.shared_base(), base_before);
    CHECK(fx.log_count("does not name its base link with relabel='no'") == 1);
    // A second reshare has nothing to fix.
    auto again = reshare_domain(conn, name, fx.config);
    REQUIRE(again);
    CHECK_FALSE(again->definition_updated);
}
