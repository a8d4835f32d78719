// A start waits at most lock_wait for the locks of its shared attempt, however many locks that
// attempt takes (instance, base, boot files), before it falls back to a host-local copy.
#include "store/blob_store.hpp"
#include "instance/instance_paths.hpp"
#include "instance/lock_and_load.hpp"
#include "support/hook_fixture.hpp"
#include "support/lock_holder.hpp"
#include "support/test_support.hpp"

#include <catch2/catch.hpp>

#include <unistd.h>

using namespace appshare;
using namespace std::chrono_literals;

TEST_CASE("the locks of one start share one bounded wait", "[lock_and_load][deadline]")
{
    test::TempDir dir;
    test::HookFixture fx(dir.path());
    fx.config.lock_wait = std::chrono::seconds(2);
    auto paths = trusted_instance_paths(fx.config, "web1", fx.metadata("web1"));
    REQUIRE(paths);
    std::filesystem::create_directories(fx.config.shared_root);
    std::filesystem::create_directories(paths->context_dir);
    LoadOptions options;
    options.holder = LockHolder{"testhost", static_cast<long>(::getpid()), "web1", ""};

    // The instance lock is busy for 1.8 s, then the base's lock for longer than any wait.
    // Each lock with its own full wait would take 1.8 s + 2 s before the fallback; one shared
    // deadline ends the shared attempt at 2 s.
    const test::LockHolderProcess base_holder(BlobStore(fx.config.shared_root).lock_path_of(fx.base_spec()), 30s);
    const test::LockHolderProcess instance_holder(paths->lock_file, 1800ms);
    const auto t0 = std::chrono::steady_clock::now();
    auto out = prepare_instance(fx.config, *paths, options);
    const auto took = std::chrono::steady_clock::now() - t0;
    INFO((out ? std::string() : out.error().message));
    REQUIRE(out);
    CHECK(out->mode == InstanceMode::Independent);
    CHECK_THAT(out->reason, Catch::Contains("otherhost"));
    CHECK(took >= 1800ms);
    CHECK(took < 3200ms);
}
