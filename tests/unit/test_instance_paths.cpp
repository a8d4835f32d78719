#include "core/instance_paths.hpp"

#include "support/hook_fixture.hpp"

#include <catch2/catch.hpp>

using namespace appshare;
namespace fs = std::filesystem;

TEST_CASE("instance paths from metadata are checked against the configuration", "[instance_paths]")
{
    test::TempDir dir;
    test::HookFixture fx(dir.path());
    auto meta = fx.metadata("web1");

    const auto refused = [&](const InstanceMetadata& m, const std::string& needle) {
        auto p = trusted_instance_paths(fx.config, "web1", m);
        REQUIRE_FALSE(p);
        CHECK(p.error().code == ErrorCode::UnsafePath);
        CHECK_THAT(p.error().message, Catch::Contains(needle));
    };

    SECTION("the installed layout is accepted") {
        auto p = trusted_instance_paths(fx.config, "web1", meta);
        REQUIRE(p);
        CHECK(p->overlay == fx.overlay("web1"));
        CHECK(p->base.sha256 == fx.base_sha);
        CHECK(p->lock_file == fx.context_dir("web1") / ".instance.lock");
    }
    SECTION("a base path other than the store's path for its digest") {
        meta.base.path = "/etc/shadow";
        refused(meta, "/etc/shadow");
        meta.base.path = fx.config.shared_root / ("0" + fx.base_sha.substr(1) + ".qcow2");
        refused(meta, "base");
    }
    SECTION("a context directory that is not a direct child of the context root") {
        meta.context_dir = fx.config.context_root / "a" / "b";
        meta.overlay = meta.context_dir / "disk.qcow2";
        refused(meta, "context root");
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
        refused(meta, "another context file");
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
