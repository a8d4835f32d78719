// The instance's side of a live migration, and of a start of an instance whose context on the
// shared storage runs on another host: judged from the files, never touching a running guest's context.
#include "instance/live_migration.hpp"

#include "instance/instance_state.hpp"
#include "support/hook_fixture.hpp"

#include <catch2/catch.hpp>

#include <filesystem>

#include <fcntl.h>
#include <unistd.h>

using namespace appshare;
using test::load_options;

namespace {
// An OFD lock on byte 100 of `file`, as a QEMU holds on an image it has open (on this host or,
// through a shared file system's locks, on another): its own open file description, so it
// conflicts with a probe from this process too.
struct QemuLikeLock {
    int fd = -1;
    explicit QemuLikeLock(const std::filesystem::path& file)
    {
        fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
        REQUIRE(fd >= 0);
        struct flock l {};
        l.l_type = F_RDLCK;
        l.l_whence = SEEK_SET;
        l.l_start = 100;
        l.l_len = 1;
        REQUIRE(::fcntl(fd, F_OFD_SETLK, &l) == 0);
    }
    ~QemuLikeLock() { ::close(fd); }
    QemuLikeLock(const QemuLikeLock&) = delete;
    QemuLikeLock& operator=(const QemuLikeLock&) = delete;
};
}  // namespace

TEST_CASE("a start of a context a QEMU holds is refused before anything in it is touched", "[live_migration]")
{
    test::TempDir dir;
    test::HookFixture fx(dir.path());
    const auto paths = fx.paths("web1");
    REQUIRE(prepare_start(fx.config, paths, load_options()));  // a first start made the context

    auto free_overlay = image_in_use(fx.overlay("web1"));
    REQUIRE(free_overlay);
    CHECK_FALSE(*free_overlay);

    QemuLikeLock qemu(fx.overlay("web1"));
    auto held = image_in_use(fx.overlay("web1"));
    REQUIRE(held);
    CHECK(*held);

    SECTION("instance.json names another host: refused, nothing touched") {
        auto state = load_instance_state(fx.context_dir("web1"));
        REQUIRE(state);
        REQUIRE(*state);
        (*state)->host = "host-b";
        test::write_file(fx.context_dir("web1") / "instance.json", format_instance_state(**state));
        const auto overlay_before = test::read_file(fx.overlay("web1"));
        const auto state_before = test::read_file(fx.context_dir("web1") / "instance.json");

        auto refused = prepare_start(fx.config, paths, load_options());
        REQUIRE_FALSE(refused);
        CHECK(refused.error().code == ErrorCode::DomainRunning);
        CHECK_THAT(refused.error().message, Catch::Contains("runs elsewhere: a QEMU on host host-b") &&
                                                Catch::Contains("virsh migrate --live"));
        CHECK(test::read_file(fx.overlay("web1")) == overlay_before);
        CHECK(test::read_file(fx.context_dir("web1") / "instance.json") == state_before);
    }
    SECTION("instance.json names this host (an incoming migration's prepare, the source's QEMU holds it): it goes on") {
        CHECK(prepare_start(fx.config, paths, load_options()));
    }
}
