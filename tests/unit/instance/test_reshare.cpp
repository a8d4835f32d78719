#include "instance/reshare.hpp"

#include "instance/instance_state.hpp"
#include "support/hook_fixture.hpp"

#include <catch2/catch.hpp>

#include <filesystem>

using namespace appshare;
namespace fs = std::filesystem;

namespace {

// What the virt layer answers, the same every time it is asked.
StoppedCheck always(DomainStopped answer)
{
    return [answer]() -> Result<DomainStopped> { return answer; };
}

}  // namespace

TEST_CASE("reshare moves an independent instance back onto the shared base", "[reshare]")
{
    test::TempDir dir;
    test::HookFixture fx(dir.path());
    const auto paths = fx.paths("web1");
    const auto o = test::load_options(nullptr, "appshare reshare");

    // Independent: the shared store was unusable at start (a file in its place).
    test::write_file(fx.config.shared_root, "x");
    auto first = prepare_instance(fx.config, paths, o);
    REQUIRE(first);
    REQUIRE(first->mode == InstanceMode::Independent);
    fs::remove(fx.config.shared_root);

    SECTION("refused unless the domain is known to be stopped") {
        auto r = reshare_instance(fx.config, paths, always(DomainStopped::No), o);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::DomainRunning);
        CHECK(test::backing_of(fx.overlay("web1")) == fx.local_base().string());
    }
    SECTION("started after the first check, before the instance lock was had: refused, nothing changes") {
        int asked = 0;
        const StoppedCheck racing = [&asked]() -> Result<DomainStopped> {
            return ++asked == 1 ? DomainStopped::Yes : DomainStopped::No;
        };
        auto r = reshare_instance(fx.config, paths, racing, o);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::DomainRunning);
        CHECK(asked == 2);
        CHECK(test::backing_of(fx.overlay("web1")) == fx.local_base().string());
        CHECK_FALSE(fs::exists(fx.shared_base()));
        CHECK(fx.state("web1").mode == InstanceMode::Independent);
    }
    SECTION("the state cannot be read under the lock: refused") {
        int asked = 0;
        const StoppedCheck failing = [&asked]() -> Result<DomainStopped> {
            if (++asked == 1) return DomainStopped::Yes;
            return make_error(ErrorCode::NotFound, "domain web1 vanished.");
        };
        auto r = reshare_instance(fx.config, paths, failing, o);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::NotFound);
        CHECK(test::backing_of(fx.overlay("web1")) == fx.local_base().string());
    }
    SECTION("stopped: the shared base is loaded (from the local copy) and the overlay rebased") {
        fs::remove(fx.source_base);  // the local copy is the only source left
        auto r = reshare_instance(fx.config, paths, always(DomainStopped::Yes), o);
        INFO((r ? std::string() : r.error().message));
        REQUIRE(r);
        CHECK(r->was_independent);
        CHECK(r->changed);
        CHECK(r->base_loaded);
        CHECK(test::openssl_sha256(fx.shared_base()) == fx.base_sha);
        CHECK(test::backing_of(fx.overlay("web1")) == fx.shared_base().string());
        const auto state = fx.state("web1");
        CHECK(state.mode == InstanceMode::Shared);
        CHECK_THAT(state.reason, Catch::Contains("reshare"));

        // Again: nothing to do.
        auto again = reshare_instance(fx.config, paths, always(DomainStopped::Yes), o);
        REQUIRE(again);
        CHECK_FALSE(again->was_independent);
        CHECK_FALSE(again->changed);
    }
    SECTION("the shared base cannot be had: nothing changes") {
        fs::remove(fx.source_base);
        fs::permissions(fx.local_base(), fs::perms::owner_write, fs::perm_options::add);
        fs::resize_file(fx.local_base(), 100);  // the local copy is damaged too
        test::write_file(fx.config.shared_root, "x");
        auto r = reshare_instance(fx.config, paths, always(DomainStopped::Yes), o);
        REQUIRE_FALSE(r);
        CHECK(test::backing_of(fx.overlay("web1")) == fx.local_base().string());
        CHECK(fx.state("web1").mode == InstanceMode::Independent);
    }
}
