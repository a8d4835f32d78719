#include "instance/instance_context.hpp"

#include "instance/lock_and_load.hpp"
#include "base/sha256.hpp"
#include "support/hook_fixture.hpp"

#include <catch2/catch.hpp>

#include <filesystem>

#include <sys/stat.h>

using namespace appshare;
namespace fs = std::filesystem;

TEST_CASE("boot links replace only a symlink or nothing, never another file", "[instance_context]")
{
    test::TempDir dir;
    test::HookFixture fx(dir.path());
    const std::string kernel = "not really a kernel";
    const std::string sha = [&] { Sha256 h; h.update(kernel); return h.hex_digest(); }();
    fs::create_directories(fx.config.local_root);
    test::write_file(fx.config.local_root / (sha + ".kernel"), kernel);
    auto meta = fx.metadata("web1");
    meta.kernel = StoredFile{sha, kernel.size(), "", fx.config.shared_root / (sha + ".kernel"), fx.context_dir("web1") / "vmlinuz"};
    const auto paths = fx.paths("web1", meta);
    REQUIRE(prepare_instance(fx.config, paths, test::load_options()));
    const auto link = fx.context_dir("web1") / "vmlinuz";
    const auto target = fx.config.shared_root / (sha + ".kernel");
    REQUIRE(fs::read_symlink(link) == target);
    const BlobStore shared(fx.config.shared_root);
    const BlobStore local(fx.config.local_root);

    SECTION("a regular file at the link's name is refused and kept") {
        fs::remove(link);
        test::write_file(link, "precious");
        auto r = point_context_at(paths, shared, {local}, {});
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::UnsafePath);
        CHECK_THAT(r.error().message, Catch::Contains(link.string()));
        CHECK_FALSE(fs::is_symlink(link));
        CHECK(test::read_file(link) == "precious");
    }
    SECTION("a directory at the link's name is refused") {
        fs::remove(link);
        fs::create_directory(link);
        auto r = point_context_at(paths, shared, {local}, {});
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::UnsafePath);
        CHECK(fs::is_directory(fs::symlink_status(link)));
    }
    SECTION("a symlink pointing elsewhere is re-pointed") {
        fs::remove(link);
        fs::create_symlink("/etc/hostname", link);
        auto r = point_context_at(paths, shared, {local}, {});
        REQUIRE(r);
        CHECK(*r);
        CHECK(fs::read_symlink(link) == target);
    }
    SECTION("a missing link is created") {
        fs::remove(link);
        auto r = point_context_at(paths, shared, {local}, {});
        REQUIRE(r);
        CHECK(*r);
        CHECK(fs::read_symlink(link) == target);
    }
}
