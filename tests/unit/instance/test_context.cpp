#include "instance/context.hpp"

#include "base/sha256.hpp"
#include "instance/instance_paths.hpp"
#include "instance/instance_state.hpp"
#include "instance/lock_and_load.hpp"
#include "image/qcow2_overlay.hpp"
#include "store/remote_source.hpp"
#include "support/hook_fixture.hpp"
#include "support/test_support.hpp"

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>

#include <sys/stat.h>

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
        // Backed by the context's link to the base, which QEMU follows.
        CHECK(layout.base_link == layout.dir / "base");
        CHECK(info["backing-filename"] == layout.base_link.string());
        CHECK(info["backing-filename-format"] == "qcow2");
        CHECK(info["virtual-size"] == (64ULL << 20));
        CHECK(fs::read_symlink(layout.base_link) == base);
        test::run_ok({"qemu-io", "-f", "qcow2", "-c", "read -P 0 0 64k", layout.overlay.string()});
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

namespace {

mode_t mode_of(const fs::path& p)
{
    struct stat st {};
    REQUIRE(::lstat(p.c_str(), &st) == 0);
    return st.st_mode & 07777;
}

// Instance web1 of a HookFixture, started once on the shared base, and its two stores.
struct StartedInstance {
    test::TempDir dir;
    test::HookFixture fx{dir.path()};
    InstancePaths paths = fx.paths("web1");
    BlobStore shared{fx.config.shared_root};
    BlobStore local{fx.config.local_root};

    StartedInstance() { REQUIRE(prepare_instance(fx.config, paths, test::load_options())); }

    // point_context_at onto `store`'s copy of the base, from `other`'s.
    [[nodiscard]] Result<bool> point(const BlobStore& store, const BlobStore& other, const LogFn& log = {}) const
    {
        return point_context_at(paths.context, context_target(paths, store, other, local), log);
    }
};

// A regular file where `point` would put a link: refused (UnsafePath naming it), and kept.
template <class Point>
void check_keeps_file_at(const fs::path& link, const Point& point)
{
    fs::remove(link);
    test::write_file(link, "precious");
    auto r = point();
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ErrorCode::UnsafePath);
    CHECK_THAT(r.error().message, Catch::Contains(link.string()));
    CHECK_FALSE(fs::is_symlink(link));
    CHECK(test::read_file(link) == "precious");
}

}  // namespace

TEST_CASE("a context is private: every folder and file it creates has its mode", "[context][modes]")
{
    test::TempDir tmp;
    const fs::path base = tmp / "shared" / "base.qcow2";
    fs::create_directories(base.parent_path());
    test::run_ok({"qemu-img", "create", "-q", "-f", "qcow2", base.string(), "32M"});
    // A root two levels down that does not exist yet: install creates it.
    const auto layout = context_layout(tmp / "images" / "contexts", "web1");
    ContextSpec spec;
    spec.base = base;
    spec.base_format = "qcow2";
    spec.virtual_size = 32ULL << 20;
    spec.kernel = tmp / "shared" / "k.kernel";
    spec.initrd = tmp / "shared" / "i.initrd";
    // Whatever the umask of whoever runs install.
    for (const mode_t mask : {mode_t{0}, mode_t{022}, mode_t{077}}) {
        DYNAMIC_SECTION("umask " << mask)
        {
            const mode_t old = ::umask(mask);
            auto ctx = create_context(layout, spec);
            ::umask(old);
            REQUIRE(ctx.has_value());
            // Folders: QEMU (libvirt-qemu) passes through, nobody lists them.
            CHECK(mode_of(tmp / "images") == 0711);
            CHECK(mode_of(layout.dir.parent_path()) == 0711);
            CHECK(mode_of(layout.dir) == 0711);
            // Files: only root reads them (libvirt hands the overlay to QEMU's user at start).
            CHECK(mode_of(layout.overlay) == 0600);
            CHECK(mode_of(layout.dir / "instance.json") == 0600);
            // Links, and nothing else.
            CHECK(fs::is_symlink(layout.base_link));
            CHECK(fs::is_symlink(layout.kernel_link));
            CHECK(fs::is_symlink(layout.initrd_link));
            std::vector<std::string> names;
            for (const auto& e : fs::directory_iterator(layout.dir)) names.push_back(e.path().filename().string());
            std::sort(names.begin(), names.end());
            CHECK(names == std::vector<std::string>{"base", "disk.qcow2", "initrd.img", "instance.json", "vmlinuz"});
        }
    }
}

TEST_CASE("the hook makes and keeps contexts private, also those an older appshare made", "[context][modes]")
{
    test::TempDir dir;
    test::HookFixture fx(dir.path());
    const auto paths = fx.paths("web1");

    SECTION("a context the hook creates (a domain defined by hand)")
    {
        REQUIRE(prepare_instance(fx.config, paths, test::load_options()));
        CHECK(mode_of(fx.context_dir("web1")) == 0711);
        CHECK(mode_of(fx.overlay("web1")) == 0600);
        CHECK(mode_of(fx.context_dir("web1") / "instance.json") == 0600);
        CHECK(mode_of(fx.config.shared_root) == 0711);
        CHECK(mode_of(fx.shared_base()) == 0444);
    }
    SECTION("the host-local copies' folder")
    {
        test::write_file(fx.config.shared_root, "x");  // the shared store is unusable
        auto r = prepare_instance(fx.config, paths, test::load_options());
        REQUIRE(r);
        REQUIRE(r->mode == InstanceMode::Independent);
        CHECK(mode_of(fx.config.local_root) == 0711);
        CHECK(mode_of(fx.local_base()) == 0444);
        CHECK(mode_of(fx.overlay("web1")) == 0600);
    }
    SECTION("a context made 0755 with a 0644 overlay and state is tightened at the next start")
    {
        REQUIRE(prepare_instance(fx.config, paths, test::load_options()));
        fs::permissions(fx.context_dir("web1"), fs::perms(0755));
        fs::permissions(fx.overlay("web1"), fs::perms(0644));
        REQUIRE(prepare_instance(fx.config, paths, test::load_options()));
        CHECK(mode_of(fx.context_dir("web1")) == 0711);
        CHECK(mode_of(fx.overlay("web1")) == 0600);
    }
}

TEST_CASE("an overlay backed by the base itself (an older appshare) is moved onto the base link natively", "[context]")
{
    StartedInstance web1;
    const auto& fx = web1.fx;
    // As an older appshare left it: overlay backed by the shared base (qemu-img's bytes), no link.
    fs::remove(fx.overlay("web1"));
    fs::remove(fx.base_link("web1"));
    test::run_ok({"qemu-img", "create", "-q", "-f", "qcow2", "-o", "cluster_size=65536", "-F", "qcow2", "-b",
                  fx.shared_base().string(), "-u", fx.overlay("web1").string(), "64M"});
    test::run_ok({"qemu-io", "-f", "qcow2", "-c", "write -P 0x33 2M 64k", fx.overlay("web1").string()});

    SECTION("re-pointed at the link, the guest's data kept")
    {
        std::vector<std::string> lines;
        auto r = web1.point(web1.shared, web1.local, [&](const std::string& l) { lines.push_back(l); });
        INFO((r ? std::string() : r.error().message));
        REQUIRE(r);
        CHECK(*r);
        CHECK(test::header_backing_of(fx.overlay("web1")) == fx.base_link("web1").string());
        CHECK(fs::read_symlink(fx.base_link("web1")) == fx.shared_base());
        test::run_ok({"qemu-io", "-f", "qcow2", "-c", "read -P 0x33 2M 64k", "-c", "read -P 0x5a 0 64k",
                      fx.overlay("web1").string()});
        CHECK(std::count_if(lines.begin(), lines.end(), [](const std::string& l) { return l.find("re-pointed the overlay") != std::string::npos; }) == 1);
    }
    SECTION("a header that is not one appshare writes is refused and left alone")
    {
        fs::remove(fx.overlay("web1"));
        test::run_ok({"qemu-img", "create", "-q", "-f", "qcow2", "-o", "lazy_refcounts=on", "-F", "qcow2", "-b",
                      fx.shared_base().string(), "-u", fx.overlay("web1").string(), "64M"});
        const auto before = test::read_file(fx.overlay("web1"));
        auto r = web1.point(web1.shared, web1.local);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::UnsafeImage);
        CHECK(test::read_file(fx.overlay("web1")) == before);
    }
    SECTION("an overlay backed by anything else is refused before the link changes")
    {
        fs::remove(fx.overlay("web1"));
        REQUIRE(create_qcow2_overlay(fx.overlay("web1"), "/etc/shadow", "raw", 64 << 20));
        auto r = web1.point(web1.shared, web1.local);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::UnsafeImage);
        CHECK_FALSE(fs::exists(fs::symlink_status(fx.base_link("web1"))));
    }
}

TEST_CASE("switching stores re-points only the base link, never the overlay's header", "[context]")
{
    StartedInstance web1;
    const auto& fx = web1.fx;
    const BlobStore& shared = web1.shared;
    const BlobStore& local = web1.local;
    REQUIRE(local.ensure(fx.base_spec(), {store_file_source(fx.shared_base())}, {}));
    const auto header = test::read_file(fx.overlay("web1")).substr(0, 65536);

    auto to_local = web1.point(local, shared);
    REQUIRE(to_local);
    CHECK(*to_local);
    CHECK(fs::read_symlink(fx.base_link("web1")) == fx.local_base());
    CHECK(test::read_file(fx.overlay("web1")).substr(0, 65536) == header);
    auto back = web1.point(shared, local);
    REQUIRE(back);
    CHECK(*back);
    CHECK(fs::read_symlink(fx.base_link("web1")) == fx.shared_base());
    CHECK(test::read_file(fx.overlay("web1")).substr(0, 65536) == header);
    auto again = web1.point(shared, local);
    REQUIRE(again);
    CHECK_FALSE(*again);
    // No temporary link is left behind.
    for (const auto& e : fs::directory_iterator(fx.context_dir("web1"))) {
        CHECK(e.path().filename().string().find(".part-") == std::string::npos);
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

TEST_CASE("boot links point at the host-local copies in either mode, and replace only a symlink or nothing",
          "[context]")
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
    auto first = prepare_instance(fx.config, *paths, o);
    REQUIRE(first);
    REQUIRE(first->mode == InstanceMode::Shared);
    const auto link = fx.context_dir("web1") / "vmlinuz";
    // libvirt's DAC driver chowns what <kernel> names while the domain runs: never the shared file.
    const auto target = fx.config.local_root / (sha + ".kernel");
    REQUIRE(fs::read_symlink(link) == target);
    CHECK(test::read_file(fx.config.shared_root / (sha + ".kernel")) == kernel);
    const BlobStore shared = shared_store(fx.config);
    const BlobStore local = local_store(fx.config);
    const auto point = [&] { return point_context_at(paths->context, context_target(*paths, shared, local, local), {}); };

    SECTION("a lost host-local copy is made again at the next start") {
        fs::remove(target);
        REQUIRE(prepare_instance(fx.config, *paths, o));
        CHECK(test::read_file(target) == kernel);
        CHECK(fs::read_symlink(link) == target);
    }
    SECTION("a regular file at the link's name is refused and kept") { check_keeps_file_at(link, point); }
    SECTION("a directory at the link's name is refused") {
        fs::remove(link);
        fs::create_directory(link);
        auto r = point();
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::UnsafePath);
        CHECK(fs::is_directory(fs::symlink_status(link)));
    }
    SECTION("a symlink pointing elsewhere (the shared file, as an older appshare made it) is re-pointed") {
        fs::remove(link);
        fs::create_symlink(fx.config.shared_root / (sha + ".kernel"), link);
        auto r = point();
        REQUIRE(r);
        CHECK(*r);
        CHECK(fs::read_symlink(link) == target);
    }
    SECTION("a missing link is created") {
        fs::remove(link);
        auto r = point();
        REQUIRE(r);
        CHECK(*r);
        CHECK(fs::read_symlink(link) == target);
    }
}

TEST_CASE("the base link replaces only a symlink or nothing, never another file", "[context]")
{
    StartedInstance web1;
    const auto& fx = web1.fx;
    const auto link = fx.base_link("web1");
    const auto point = [&] { return web1.point(web1.shared, web1.local); };

    SECTION("a regular file at the link's name is refused and kept") { check_keeps_file_at(link, point); }
    SECTION("a symlink pointing elsewhere is re-pointed") {
        fs::remove(link);
        fs::create_symlink("/etc/hostname", link);
        auto r = point();
        REQUIRE(r);
        CHECK(*r);
        CHECK(fs::read_symlink(link) == fx.shared_base());
    }
}
