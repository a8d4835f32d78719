// `appshare reshare NAME` after a fallback: refused while the domain runs, then moves the
// stopped instance back onto the shared base, and the next start runs there.
#include "base/file_lock.hpp"
#include "instance/instance_state.hpp"
#include "support/hook_sandbox.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <thread>

#include <sys/wait.h>
#include <unistd.h>

using namespace appshare;
using namespace appshare::test;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

TEST_CASE("appshare reshare moves an independent instance back onto the shared base", "[hook][integration][reshare]")
{
    HookFixture fx(sandbox_root("reshare"));
    fx.config.lock_wait = 1s;
    write_config(fx);
    register_hook();
    Connection conn = connect_default();
    const std::string name = unique_name("resh");
    const auto dom = define(conn, fx.domain_xml(name));

    // The base's lock is held by another process past the limit: the start falls back.
    fs::create_directories(fx.config.shared_root);
    const auto lock_file = BlobStore(fx.config.shared_root).lock_path_of(fx.base_spec());
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    const pid_t holder = fork();
    REQUIRE(holder >= 0);
    if (holder == 0) {
        auto lock = FileLock::acquire(lock_file, 0ms, LockHolder{"elsewhere", 7, "x", "hold"});
        [[maybe_unused]] auto n = write(fds[1], lock ? "y" : "n", 1);
        std::this_thread::sleep_for(60s);
        _exit(0);
    }
    char c = 0;
    REQUIRE(read(fds[0], &c, 1) == 1);
    REQUIRE(c == 'y');
    auto started = start_domain(dom);
    kill(holder, SIGKILL);
    waitpid(holder, nullptr, 0);
    INFO((started ? std::string() : started.error().message));
    REQUIRE(started);
    REQUIRE(backing_of(fx.overlay(name)) == fx.local_base().string());

    const auto bin = appshare_bin().string();
    auto running = run({bin, "reshare", name});
    CHECK(running.status == static_cast<int>(ErrorCode::DomainRunning));
    CHECK_THAT(running.output, Catch::Contains("is running"));
    CHECK(backing_of(fx.overlay(name)) == fx.local_base().string());

    REQUIRE(destroy_domain(dom));
    auto moved = run({bin, "reshare", name});
    INFO(moved.output);
    REQUIRE(moved.status == 0);
    CHECK_THAT(moved.output, Catch::Contains("shared base"));
    CHECK(backing_of(fx.overlay(name)) == fx.shared_base().string());
    auto state = load_instance_state(fx.context_dir(name));
    REQUIRE(state);
    REQUIRE(*state);
    CHECK((*state)->mode == InstanceMode::Shared);

    auto again = start_domain(dom);
    INFO((again ? std::string() : again.error().message));
    REQUIRE(again);
    CHECK(state_of(dom) == DomainState::Running);
    CHECK(fx.log_count("prepared on " + fx.shared_base().string() + " (shared)") == 1);

    auto foreign = run({bin, "reshare", "no-such-domain"});
    CHECK(foreign.status == static_cast<int>(ErrorCode::NotFound));
}
