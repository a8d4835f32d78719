#include "instance/context.hpp"

#include "base/sha256.hpp"
#include "instance/instance_paths.hpp"
#include "instance/instance_state.hpp"
#include "instance/lock_and_load.hpp"
#include "support/hook_fixture.hpp"
#include "support/test_support.hpp"

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

using namespace appshare;
namespace fs = std::filesystem;

TEST_CASE("check_instance_name accepts host-name-like names only", "[context]")
{
    SECTION("good names")
    {
        for (const char* n : {"a", "web1", "demo-1.example", "A_b-c.d", "0abc"}) {
            INFO(n);
            CHECK(check_instance_name(n).has_value());
        }
        CHECK(check_instance_name(std::string(63, 'x')).has_value());
    }
    SECTION("bad names are Usage errors")
    {
        for (const char* n : {"", "-x", ".x", "a/b", "a..b", "a b", "ü", "a<b"}) {
            INFO(n);
            auto r = check_instance_name(n);
            REQUIRE_FALSE(r.has_value());
            CHECK(r.error().code == ErrorCode::Usage);
        }
        CHECK_FALSE(check_instance_name(std::string(64, 'x')).has_value());
    }
}

TEST_CASE("create_context makes overlay, links and state, or nothing", "[context]")
{
    test::TempDir tmp;
    const fs::path base = tmp / "shared" / "base.qcow2";
    fs::create_directories(base.parent_path());
    test::run_ok({"qemu-img", "create", "-q", "-f", "qcow2", base.string(), "32M"});
    const auto layout = context_layout(tmp / "contexts", "web1");
    CHECK(layout.dir == tmp / "contexts" / "web1");
    CHECK(layout.overlay == layout.dir / "disk.qcow2");

    ContextSpec spec;
    spec.base = base;
    spec.base_format = "qcow2";
    spec.virtual_size = 64ULL << 20;

    SECTION("a context with boot links is kept when asked")
    {
        spec.kernel = tmp / "shared" / "k.kernel";
        spec.initrd = tmp / "shared" / "i.initrd";
        {
            auto ctx = create_context(layout, spec);
            REQUIRE(ctx.has_value());
            ctx->keep();
        }
        const auto info = nlohmann::json::parse(
            test::run_ok({"qemu-img", "info", "--output=json", layout.overlay.string()}));
        CHECK(info["backing-filename"] == base.string());
        CHECK(info["backing-filename-format"] == "qcow2");
        CHECK(info["virtual-size"] == (64ULL << 20));
        CHECK(fs::read_symlink(layout.kernel_link) == *spec.kernel);
        CHECK(fs::read_symlink(layout.initrd_link) == *spec.initrd);
        auto state = load_instance_state(layout.dir);
        REQUIRE(state.has_value());
        REQUIRE(state->has_value());
        CHECK((*state)->mode == InstanceMode::Shared);
        CHECK((*state)->reason == "installed");
        CHECK((*state)->base == base);
    }

    SECTION("dropped without keep(): the directory is gone")
    {
        {
            auto ctx = create_context(layout, spec);
            REQUIRE(ctx.has_value());
            CHECK(fs::exists(layout.overlay));
        }
        CHECK_FALSE(fs::exists(layout.dir));
    }

    SECTION("an existing directory is refused and left alone")
    {
        fs::create_directories(layout.dir);
        test::write_file(layout.dir / "mine", "x");
        auto ctx = create_context(layout, spec);
        REQUIRE_FALSE(ctx.has_value());
        CHECK(ctx.error().code == ErrorCode::AlreadyExists);
        CHECK(fs::exists(layout.dir / "mine"));
    }

    SECTION("a failing qemu-img leaves nothing")
    {
        spec.base_format = "no-such-format";
        auto ctx = create_context(layout, spec);
        REQUIRE_FALSE(ctx.has_value());
        CHECK(ctx.error().code == ErrorCode::Io);
        CHECK_FALSE(fs::exists(layout.dir));
    }
}

TEST_CASE("remove_context removes only a real directory directly in the root", "[context]")
{
    test::TempDir tmp;
    const fs::path root = tmp / "contexts";
    fs::create_directories(root / "web1" / "sub");
    test::write_file(root / "web1" / "sub" / "f", "x");

    SECTION("the context and all in it")
    {
        REQUIRE(remove_context(root, root / "web1").has_value());
        CHECK_FALSE(fs::exists(root / "web1"));
        CHECK(fs::exists(root));
    }
    SECTION("a missing context is fine")
    {
        CHECK(remove_context(root, root / "gone").has_value());
    }
    SECTION("outside the root, or the root itself, is refused")
    {
        fs::create_directories(tmp / "elsewhere");
        for (const fs::path& p : {tmp / "elsewhere", root, root / "web1" / "sub", root / ".." / "elsewhere"}) {
            INFO(p);
            auto r = remove_context(root, p);
            REQUIRE_FALSE(r.has_value());
            CHECK(r.error().code == ErrorCode::UnsafePath);
        }
        CHECK(fs::exists(tmp / "elsewhere"));
        CHECK(fs::exists(root / "web1" / "sub" / "f"));
    }
    SECTION("a symlink in the root is refused and its target kept")
    {
        fs::create_directories(tmp / "victim");
        fs::create_directory_symlink(tmp / "victim", root / "link");
        auto r = remove_context(root, root / "link");
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == ErrorCode::UnsafePath);
        CHECK(fs::exists(tmp / "victim"));
    }
}

TEST_CASE("boot links replace only a symlink or nothing, never another file", "[context]")
{
    test::TempDir dir;
    test::HookFixture fx(dir.path());
    const std::string kernel = "not really a kernel";
    const std::string sha = [&] { Sha256 h; h.update(kernel); return h.hex_digest(); }();
    fs::create_directories(fx.config.local_root);
    test::write_file(fx.config.local_root / (sha + ".kernel"), kernel);
    auto meta = fx.metadata("web1");
    meta.kernel = StoredFile{sha, kernel.size(), "", fx.config.shared_root / (sha + ".kernel"), fx.context_dir("web1") / "vmlinuz"};
    auto paths = trusted_instance_paths(fx.config, "web1", meta);
    INFO((paths ? std::string() : paths.error().message));
    REQUIRE(paths);
    LoadOptions o;
    o.holder = this_process_holder("web1");
    REQUIRE(prepare_instance(fx.config, *paths, o));
    const auto link = fx.context_dir("web1") / "vmlinuz";
    const auto target = fx.config.shared_root / (sha + ".kernel");
    REQUIRE(fs::read_symlink(link) == target);
    const BlobStore shared = shared_store(fx.config);
    const BlobStore local = local_store(fx.config);

    SECTION("a regular file at the link's name is refused and kept") {
        fs::remove(link);
        test::write_file(link, "precious");
        auto r = point_context_at(paths->context, context_target(*paths, shared, local), {});
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::UnsafePath);
        CHECK_THAT(r.error().message, Catch::Contains(link.string()));
        CHECK_FALSE(fs::is_symlink(link));
        CHECK(test::read_file(link) == "precious");
    }
    SECTION("a directory at the link's name is refused") {
        fs::remove(link);
        fs::create_directory(link);
        auto r = point_context_at(paths->context, context_target(*paths, shared, local), {});
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::UnsafePath);
        CHECK(fs::is_directory(fs::symlink_status(link)));
    }
    SECTION("a symlink pointing elsewhere is re-pointed") {
        fs::remove(link);
        fs::create_symlink("/etc/hostname", link);
        auto r = point_context_at(paths->context, context_target(*paths, shared, local), {});
        REQUIRE(r);
        CHECK(*r);
        CHECK(fs::read_symlink(link) == target);
    }
    SECTION("a missing link is created") {
        fs::remove(link);
        auto r = point_context_at(paths->context, context_target(*paths, shared, local), {});
        REQUIRE(r);
        CHECK(*r);
        CHECK(fs::read_symlink(link) == target);
    }
}
