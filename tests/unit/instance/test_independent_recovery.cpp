// An independent instance whose host-local copy can no longer be had runs on the healthy
// shared base again instead of being refused (its start is the moment it is safe to move it).
#include "store/blob_store.hpp"
#include "instance/instance_paths.hpp"
#include "instance/instance_state.hpp"
#include "instance/lock_and_load.hpp"
#include "store/remote_source.hpp"
#include "support/hook_fixture.hpp"
#include "support/lock_holder.hpp"
#include "support/test_support.hpp"

#include <catch2/catch.hpp>

#include <unistd.h>

using namespace appshare;
using namespace std::chrono_literals;

TEST_CASE("an independent instance whose local copy is lost returns to a healthy shared base", "[lock_and_load]")
{
    test::TempDir dir;
    test::HookFixture fx(dir.path());
    fx.config.lock_wait = std::chrono::seconds(1);
    auto paths = trusted_instance_paths(fx.config, "web1", fx.metadata("web1"));
    REQUIRE(paths);
    LoadOptions options;
    options.holder = LockHolder{"testhost", static_cast<long>(::getpid()), "web1", ""};
    std::filesystem::create_directories(fx.config.shared_root);

    {   // The shared base's lock is busy past the limit: the instance becomes independent.
        const test::LockHolderProcess holder(BlobStore(fx.config.shared_root).lock_path_of(fx.base_spec()), 30s);
        auto out = prepare_instance(fx.config, *paths, options);
        REQUIRE(out);
        REQUIRE(out->mode == InstanceMode::Independent);
    }
    // The shared base becomes healthy; the host-local store breaks (a file where its folder was).
    EnsureOptions eo;
    REQUIRE(BlobStore(fx.config.shared_root).ensure(fx.base_spec(), {store_file_source(fx.source_base)}, eo));
    std::filesystem::remove_all(fx.config.local_root);
    test::write_file(fx.config.local_root, "not a folder");

    std::vector<std::string> log;
    options.log = [&log](const std::string& l) { log.push_back(l); };
    auto out = prepare_instance(fx.config, *paths, options);
    INFO((out ? std::string() : out.error().message));
    REQUIRE(out);
    CHECK(out->mode == InstanceMode::Shared);
    CHECK(out->base == fx.shared_base());
    CHECK(test::backing_of(fx.overlay("web1")) == fx.shared_base().string());
    auto state = load_instance_state(fx.context_dir("web1"));
    REQUIRE(state);
    REQUIRE(*state);
    CHECK((*state)->mode == InstanceMode::Shared);
    CHECK_THAT((*state)->reason, Catch::Contains("host-local copy lost"));
}
