// `appshare reshare NAME` after a fallback: refused while the domain runs, then moves the
// stopped instance back onto the shared base, and the next start runs there.
#include "base/file_lock.hpp"
#include "instance/instance_state.hpp"
#include "support/hook_sandbox.hpp"
#include "support/lock_holder.hpp"

#include <catch2/catch.hpp>

#include <filesystem>

using namespace appshare;
using namespace appshare::test;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

TEST_CASE("appshare reshare moves an independent instance back onto the shared base", "[hook][integration][reshare]")
{
    HookFixture fx(sandbox_root("reshare"));
    fx.config.lock_wait = 1s;
    Connection conn = serve_hook(fx);
    const std::string name = unique_name("resh");
    const auto dom = define(conn, fx.domain_xml(name));

    // The base's lock is held by another process past the limit: the start falls back.
    const auto started = [&] {
        const LockHolderProcess holder(fx.shared_base_lock(), 60s, LockHolder{"elsewhere", 7, "x", "hold"});
        return start_domain(dom);
    }();
    INFO((started ? std::string() : started.error().message));
    REQUIRE(started);
    REQUIRE(backing_of(fx.overlay(name)) == fx.local_base().string());

    const auto bin = appshare_bin().string();
    auto running = run({bin, "reshare", name});
    CHECK(running.status == static_cast<int>(ErrorCode::DomainRunning));
    CHECK_THAT(running.output, Catch::Contains("is running"));
    CHECK(backing_of(fx.overlay(name)) == fx.local_base().string());

    REQUIRE(destroy_domain(dom));
    // reshare takes --config and -c like the other commands, and its URI comes from -c, else
    // LIBVIRT_DEFAULT_URI (the sandbox's), and only then the configuration's uri.
    const auto missing_conf = run({bin, "reshare", name, "--config", (fx.root / "missing.conf").string()});
    CHECK(missing_conf.status == static_cast<int>(ErrorCode::Config));
    CHECK_THAT(missing_conf.output, Catch::Contains((fx.root / "missing.conf").string()));
    const std::string nowhere = "qemu:///system?socket=/nonexistent/appshare-test.sock";
    const auto unreachable = run({bin, "reshare", name, "-c", nowhere});
    CHECK(unreachable.status == static_cast<int>(ErrorCode::Libvirt));
    CHECK_THAT(unreachable.output, Catch::Contains(nowhere));
    CHECK(backing_of(fx.overlay(name)) == fx.local_base().string());
    const auto conf = fx.root / "reshare.conf";
    Config with_bogus_uri = fx.config;
    with_bogus_uri.uri = nowhere;
    write_config_file(conf, with_bogus_uri);
    auto moved = run({bin, "reshare", name, "--config", conf.string()});
    INFO(moved.output);
    REQUIRE(moved.status == 0);
    CHECK_THAT(moved.output, Catch::Contains("shared base"));
    // The load it made is told on stderr as it happens.
    CHECK_THAT(moved.output, Catch::Contains("appshare: loaded " + fx.shared_base().string()));
    CHECK(backing_of(fx.overlay(name)) == fx.shared_base().string());
    CHECK(fx.state(name).mode == InstanceMode::Shared);

    auto again = start_domain(dom);
    INFO((again ? std::string() : again.error().message));
    REQUIRE(again);
    CHECK(state_of(dom) == DomainState::Running);
    CHECK(fx.log_count("prepared on " + fx.shared_base().string() + " (shared)") == 1);

    auto missing = run({bin, "reshare", "no-such-domain"});
    CHECK(missing.status == static_cast<int>(ErrorCode::NotFound));
}
