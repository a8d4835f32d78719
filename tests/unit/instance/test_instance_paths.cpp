#include "instance/instance_paths.hpp"

#include "hook/hook_dispatch.hpp"
#include "base/sha256.hpp"
#include "support/config_file.hpp"
#include "support/hook_fixture.hpp"
#include "support/result_checks.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>

using namespace appshare;
namespace fs = std::filesystem;

TEST_CASE("instance paths from metadata are checked against the configuration", "[instance_paths]")
{
    test::TempDir dir;
    test::HookFixture fx(dir.path());
    auto meta = fx.metadata("web1");

    const auto refused = [&](const InstanceMetadata& m, const std::string& needle) {
        test::require_refused(trusted_instance_paths(fx.config, "web1", m), ErrorCode::UnsafePath, {needle});
    };

    SECTION("the installed layout is accepted") {
        auto p = trusted_instance_paths(fx.config, "web1", meta);
        REQUIRE(p);
        CHECK(p->context.overlay == fx.overlay("web1"));
        CHECK(p->base.sha256 == fx.base_sha);
        CHECK(p->context.lock_file == fx.context_dir("web1") / ".instance.lock");
    }
    SECTION("a base path other than the store's path for its digest") {
        meta.base.path = "/etc/shadow";
        refused(meta, "/etc/shadow");
        meta.base.path = fx.config.shared_root / ("0" + fx.base_sha.substr(1) + ".qcow2");
        refused(meta, "base");
    }
    SECTION("paths the metadata gives are shown escaped") {
        // Found by fuzzing (tests/fuzz/fuzz_hook_metadata.cpp): a path from the metadata (where a
        // new line is a character reference away) went raw into the message the hook logs.
        meta.base.path = "/etc/x\nappshare-hook[1]: forged";
        refused(meta, "/etc/x\\x0aappshare-hook[1]: forged");
        meta = fx.metadata("web1");
        meta.overlay = "/var/lib/o\x1b[2J.qcow2";
        refused(meta, "/var/lib/o\\x1b[2J.qcow2");
        for (const auto& m : {meta, [&] { auto b = fx.metadata("web1"); b.base.path = "/e\n"; return b; }()}) {
            const auto p = trusted_instance_paths(fx.config, "web1", m);
            REQUIRE_FALSE(p);
            CHECK(p.error().message.find_first_of("\n\x1b") == std::string::npos);
        }
        // The domain's name too (libvirt refuses a new line in it, not a tab or DEL).
        const auto p = trusted_instance_paths(fx.config, "web\t1\x7f", fx.metadata("web1"));
        REQUIRE_FALSE(p);
        CHECK_THAT(p.error().message, Catch::Contains("web\\x091\\x7f"));
        CHECK(p.error().message.find_first_of("\t\x7f") == std::string::npos);
    }
    SECTION("a context directory that is not a direct child of the context root") {
        meta.context_dir = fx.config.context_root / "a" / "b";
        meta.overlay = meta.context_dir / "disk.qcow2";
        refused(meta, "context directory");
        meta.context_dir = "/etc";
        meta.overlay = "/etc/disk.qcow2";
        refused(meta, "context");
    }
    SECTION("a symlinked context directory") {
        fs::create_directories(dir / "elsewhere");
        fs::create_directory_symlink(dir / "elsewhere", fx.context_dir("web1"));
        refused(meta, "symbolic link");
    }
    SECTION("an overlay or boot link outside the context directory") {
        meta.overlay = "/var/lib/other.qcow2";
        refused(meta, "overlay");
        meta = fx.metadata("web1");
        meta.kernel = StoredFile{std::string(64, 'c'), 10, "", fx.config.shared_root / (std::string(64, 'c') + ".kernel"),
                                 "/boot/vmlinuz"};
        refused(meta, "kernel link");
        meta.kernel->link = fx.context_dir("web1") / "instance.json";
        refused(meta, "kernel link");
    }
    SECTION("boot files must be at their store path") {
        meta.kernel = StoredFile{std::string(64, 'c'), 10, "", "/boot/vmlinuz", fx.context_dir("web1") / "vmlinuz"};
        refused(meta, "kernel");
        meta.kernel->path = fx.config.shared_root / (std::string(64, 'c') + ".kernel");
        auto p = trusted_instance_paths(fx.config, "web1", meta);
        REQUIRE(p);
        REQUIRE(p->boot_files().size() == 1);
        CHECK(p->kernel->spec.kind == "kernel");
    }
}

TEST_CASE("instance paths are the domain's own context layout, never another's", "[instance_paths]")
{
    test::TempDir dir;
    test::HookFixture fx(dir.path());
    const std::string kernel_sha(64, 'c');
    const auto with_kernel = [&](const std::string& name) {
        auto m = fx.metadata(name);
        m.kernel = StoredFile{kernel_sha, 10, "", fx.config.shared_root / (kernel_sha + ".kernel"),
                              fx.context_dir(name) / "vmlinuz"};
        m.initrd = StoredFile{std::string(64, 'd'), 10, "", fx.config.shared_root / (std::string(64, 'd') + ".initrd"),
                              fx.context_dir(name) / "initrd.img"};
        return m;
    };
    const auto refused = [&](const std::string& domain, const InstanceMetadata& m, const std::string& needle) {
        test::require_refused(trusted_instance_paths(fx.config, domain, m), ErrorCode::UnsafePath, {needle});
    };

    SECTION("the installed layout with boot files is accepted and taken from the layout") {
        auto p = trusted_instance_paths(fx.config, "web1", with_kernel("web1"));
        INFO((p ? std::string() : p.error().message));
        REQUIRE(p);
        CHECK(p->context.dir == fx.context_dir("web1"));
        CHECK(p->context.overlay == fx.context_dir("web1") / "disk.qcow2");
        CHECK(p->kernel->link == fx.context_dir("web1") / "vmlinuz");
        CHECK(p->initrd->link == fx.context_dir("web1") / "initrd.img");
    }
    SECTION("another domain's context directory (a dumpxml clone keeps it)") {
        refused("web2", fx.metadata("web1"), fx.context_dir("web1").string());
        refused("web2", with_kernel("web1"), "web2");
    }
    SECTION("another file of the right directory as overlay") {
        auto m = fx.metadata("web1");
        m.overlay = fx.context_dir("web1") / "evil.qcow2";
        refused("web1", m, "overlay");
    }
    SECTION("another file of the right directory as kernel or initrd link") {
        auto m = with_kernel("web1");
        m.kernel->link = fx.context_dir("web1") / "disk.qcow2";
        refused("web1", m, "kernel link");
        m = with_kernel("web1");
        m.initrd->link = fx.context_dir("web1") / "vmlinuz";
        refused("web1", m, "initrd link");
    }
    SECTION("a domain name that cannot name a context directory") {
        for (const std::string bad : {"..", ".", "a/b", ""}) {
            INFO(bad);
            auto m = fx.metadata("web1");
            m.context_dir = fx.config.context_root / bad;
            m.overlay = m.context_dir / "disk.qcow2";
            CHECK_FALSE(trusted_instance_paths(fx.config, bad, m));
        }
    }
    SECTION("the same checks for the context alone (uninstall, list)") {
        auto l = trusted_context_layout(fx.config, "web1", fx.metadata("web1"));
        REQUIRE(l);
        CHECK(l->dir == fx.context_dir("web1"));
        auto other = trusted_context_layout(fx.config, "web2", fx.metadata("web1"));
        REQUIRE_FALSE(other);
        CHECK(other.error().code == ErrorCode::UnsafePath);
        auto m = fx.metadata("web1");
        m.context_dir = "/";
        m.overlay = "/disk.qcow2";
        CHECK_FALSE(trusted_context_layout(fx.config, "web1", m));
    }
}

TEST_CASE("instance metadata must give the base's size", "[instance_paths]")
{
    test::TempDir dir;
    test::HookFixture fx(dir.path());
    auto m = fx.metadata("web1");
    m.base.size = 0;
    auto p = trusted_instance_paths(fx.config, "web1", m);
    REQUIRE_FALSE(p);
    CHECK(p.error().code == ErrorCode::BadManifest);
    CHECK_THAT(p.error().message, Catch::Contains("size"));
    m = fx.metadata("web1");
    auto ok = trusted_instance_paths(fx.config, "web1", m);
    REQUIRE(ok);
    REQUIRE(ok->base.size);
    CHECK(*ok->base.size == fx.base_size);
}

TEST_CASE("the hook refuses metadata aimed at another instance's context and leaves it unchanged", "[instance_paths][hook_dispatch]")
{
    test::TempDir dir;
    test::HookFixture fx(dir.path());
    const auto conf = dir / "appshare.conf";
    test::write_config_file(conf, fx.config);
    const auto prepare = [&](const std::string& domain, const std::string& xml) {
        return run_hook(HookRequest{domain, "prepare", "begin", "-", xml, false}, conf);
    };
    // The victim, started once: its overlay exists.
    auto victim = prepare("victim", fx.domain_xml("victim"));
    INFO(victim.stderr_text);
    REQUIRE(victim.exit_status == 0);
    const auto disk = fx.overlay("victim");
    struct stat before {};
    REQUIRE(::lstat(disk.c_str(), &before) == 0);
    REQUIRE(S_ISREG(before.st_mode));
    const auto disk_sha = sha256_file(disk);
    REQUIRE(disk_sha);

    // A kernel the stores can provide, so nothing but the path checks stands in the way.
    const std::string kernel = "not really a kernel";
    const std::string kernel_sha = [&] { Sha256 h; h.update(kernel); return h.hex_digest(); }();
    fs::create_directories(fx.config.local_root);
    test::write_file(fx.config.local_root / (kernel_sha + ".kernel"), kernel);

    auto evil = fx.metadata("evil");
    evil.context_dir = fx.context_dir("victim");

    SECTION("overlay and kernel link inside the victim's context") {
        evil.overlay = fx.context_dir("victim") / "evil.qcow2";
        evil.kernel = StoredFile{kernel_sha, kernel.size(), "", fx.config.shared_root / (kernel_sha + ".kernel"), disk};
    }
    SECTION("the victim's own overlay") {
        evil.overlay = disk;
    }
    auto r = prepare("evil", fx.domain_xml("evil", evil));
    CHECK(r.exit_status == static_cast<int>(ErrorCode::UnsafePath));
    CHECK_THAT(r.stderr_text, Catch::Contains("victim"));
    struct stat after {};
    REQUIRE(::lstat(disk.c_str(), &after) == 0);
    CHECK(S_ISREG(after.st_mode));
    CHECK(after.st_ino == before.st_ino);
    CHECK(sha256_file(disk).value() == *disk_sha);
    CHECK_FALSE(fs::exists(fx.context_dir("victim") / "evil.qcow2"));
    CHECK_FALSE(fs::exists(fx.context_dir("evil")));
}
