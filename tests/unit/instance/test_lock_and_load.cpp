#include "instance/lock_and_load.hpp"

#include "base/file_lock.hpp"
#include "instance/instance_state.hpp"
#include "store/blob_store.hpp"
#include "store/remote_source.hpp"
#include "base/sha256.hpp"
#include "support/hook_fixture.hpp"
#include "support/lock_holder.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>

#include <sys/stat.h>

using namespace appshare;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using test::load_options;
using test::openssl_sha256;

TEST_CASE("prepare loads a missing base, creates the overlay and records the state", "[lock_and_load]")
{
    test::TempDir dir;
    test::HookFixture fx(dir.path());
    const auto paths = fx.paths("web1");
    std::vector<std::string> lines;

    auto out = prepare_instance(fx.config, paths, load_options(&lines));
    INFO((out ? std::string() : out.error().message));
    REQUIRE(out);
    CHECK(out->mode == InstanceMode::Shared);
    CHECK(out->base_loaded);
    CHECK(openssl_sha256(fx.shared_base()) == fx.base_sha);
    CHECK(test::backing_of(fx.overlay("web1")) == fx.shared_base().string());
    const auto state = fx.state("web1");
    CHECK(state.mode == InstanceMode::Shared);
    CHECK(state.base == fx.shared_base());

    SECTION("the warm path reuses everything and keeps the overlay's bytes") {
        const auto before = test::read_file(fx.overlay("web1"));
        auto again = prepare_instance(fx.config, paths, load_options());
        REQUIRE(again);
        CHECK_FALSE(again->base_loaded);
        CHECK(test::read_file(fx.overlay("web1")) == before);
    }
    SECTION("a damaged shared base is detected, removed and reloaded") {
        test::flip_byte(fx.shared_base(), fx.base_size / 2);
        CHECK(openssl_sha256(fx.shared_base()) != fx.base_sha);
        auto again = prepare_instance(fx.config, paths, load_options());
        REQUIRE(again);
        CHECK(again->base_loaded);
        CHECK(again->mode == InstanceMode::Shared);
        CHECK(openssl_sha256(fx.shared_base()) == fx.base_sha);
    }
    SECTION("a truncated shared base is detected and reloaded") {
        fs::permissions(fx.shared_base(), fs::perms::owner_write, fs::perm_options::add);
        fs::resize_file(fx.shared_base(), fx.base_size / 2);
        auto again = prepare_instance(fx.config, paths, load_options());
        REQUIRE(again);
        CHECK(again->base_loaded);
        CHECK(openssl_sha256(fx.shared_base()) == fx.base_sha);
    }
}

TEST_CASE("metadata with a wrong base size never removes the healthy shared base", "[lock_and_load]")
{
    test::TempDir dir;
    test::HookFixture fx(dir.path());
    REQUIRE(prepare_instance(fx.config, fx.paths("web1"), load_options()));
    struct stat before {};
    REQUIRE(::stat(fx.shared_base().c_str(), &before) == 0);

    auto lying = fx.metadata("web2");
    lying.base.size = 1;
    auto out = prepare_instance(fx.config, fx.paths("web2", lying), load_options());
    CHECK_FALSE(out);
    struct stat after {};
    REQUIRE(::stat(fx.shared_base().c_str(), &after) == 0);
    CHECK(after.st_ino == before.st_ino);
    CHECK(openssl_sha256(fx.shared_base()) == fx.base_sha);
    CHECK(test::backing_of(fx.overlay("web1")) == fx.shared_base().string());
}

TEST_CASE("prepare waits for a busy lock, then falls back to an independent copy", "[lock_and_load]")
{
    test::TempDir dir;
    test::HookFixture fx(dir.path());
    const auto paths = fx.paths("web1");
    const auto lock_file = fx.shared_base_lock();

    SECTION("released within the wait: the start proceeds on the shared base") {
        test::LockHolderProcess holder(lock_file, 700ms);
        std::vector<std::string> lines;
        const auto t0 = std::chrono::steady_clock::now();
        auto out = prepare_instance(fx.config, paths, load_options(&lines));
        const auto waited = std::chrono::steady_clock::now() - t0;
        holder.kill();
        REQUIRE(out);
        CHECK(out->mode == InstanceMode::Shared);
        CHECK(waited >= 500ms);
        bool logged_holder = false;
        for (const auto& l : lines) logged_holder = logged_holder || l.find("otherhost") != std::string::npos;
        CHECK(logged_holder);
    }
    SECTION("held past the limit: a verified host-local copy, recorded as independent") {
        test::LockHolderProcess holder(lock_file, 4s);
        auto out = prepare_instance(fx.config, paths, load_options());
        holder.kill();
        INFO((out ? std::string() : out.error().message));
        REQUIRE(out);
        CHECK(out->mode == InstanceMode::Independent);
        CHECK(out->switched);
        CHECK_THAT(out->reason, Catch::Contains("otherhost"));
        CHECK(out->base == fx.local_base());
        CHECK(openssl_sha256(fx.local_base()) == fx.base_sha);
        CHECK(test::backing_of(fx.overlay("web1")) == fx.local_base().string());
        CHECK(fx.state("web1").mode == InstanceMode::Independent);

        // It stays independent at the next start, even with the shared storage healthy.
        auto next = prepare_instance(fx.config, paths, load_options());
        REQUIRE(next);
        CHECK(next->mode == InstanceMode::Independent);
        CHECK_FALSE(next->switched);
        CHECK(test::backing_of(fx.overlay("web1")) == fx.local_base().string());
    }
}

TEST_CASE("prepare refuses when no verified copy can be had, leaving the context unchanged", "[lock_and_load]")
{
    test::TempDir dir;
    test::HookFixture fx(dir.path());
    auto meta = fx.metadata("web1");
    const auto paths = fx.paths("web1", meta);

    // A first start makes the context; then the base disappears everywhere.
    REQUIRE(prepare_instance(fx.config, paths, load_options()));
    const auto overlay_before = test::read_file(fx.overlay("web1"));
    const auto state_before = test::read_file(fx.context_dir("web1") / "instance.json");
    fs::remove(fx.shared_base());
    fs::remove(fx.source_base);

    auto out = prepare_instance(fx.config, paths, load_options());
    REQUIRE_FALSE(out);
    CHECK(out.error().code == ErrorCode::LoadFailed);
    CHECK_THAT(out.error().message, Catch::Contains("cannot start") && Catch::Contains(fx.source_base.string()));
    CHECK(test::read_file(fx.overlay("web1")) == overlay_before);
    CHECK(test::read_file(fx.context_dir("web1") / "instance.json") == state_before);
    CHECK_FALSE(fs::exists(fx.local_base()));

    SECTION("a disallowed source is named as refused") {
        auto meta2 = fx.metadata("web2");
        meta2.source_files = {"/etc/passwd"};
        meta2.source_urls = {"http://127.0.0.1:1/x.qcow2"};
        auto r = prepare_instance(fx.config, fx.paths("web2", meta2), load_options());
        REQUIRE_FALSE(r);
        CHECK_THAT(r.error().message, Catch::Contains("allowed_source_dirs") && Catch::Contains("allowed_url_prefixes"));
        CHECK_FALSE(fs::exists(fx.overlay("web2")));
    }
}

TEST_CASE("an unwritable shared store makes the instance independent", "[lock_and_load]")
{
    test::TempDir dir;
    test::HookFixture fx(dir.path());
    // A regular file where the shared store directory should be: nothing can be created in it.
    test::write_file(fx.config.shared_root, "not a directory");
    auto out = prepare_instance(fx.config, fx.paths("web1"), load_options());
    INFO((out ? std::string() : out.error().message));
    REQUIRE(out);
    CHECK(out->mode == InstanceMode::Independent);
    CHECK(test::backing_of(fx.overlay("web1")) == fx.local_base().string());
}

TEST_CASE("boot files are loaded with the base and linked from the context", "[lock_and_load]")
{
    test::TempDir dir;
    test::HookFixture fx(dir.path());
    const std::string kernel = "not really a kernel";
    const std::string sha = [&] { Sha256 h; h.update(kernel); return h.hex_digest(); }();
    auto meta = fx.metadata("web1");
    meta.kernel = StoredFile{sha, kernel.size(), "", fx.config.shared_root / (sha + ".kernel"), fx.context_dir("web1") / "vmlinuz"};
    const auto paths = fx.paths("web1", meta);

    SECTION("a kernel in neither store cannot be had: refused") {
        auto out = prepare_instance(fx.config, paths, load_options());
        REQUIRE_FALSE(out);
        CHECK_FALSE(fs::exists(fx.overlay("web1")));
    }
    SECTION("a kernel only in the local store is copied back to the shared store, and linked locally") {
        fs::create_directories(fx.config.local_root);
        test::write_file(fx.config.local_root / (sha + ".kernel"), kernel);
        auto out = prepare_instance(fx.config, paths, load_options());
        INFO((out ? std::string() : out.error().message));
        REQUIRE(out);
        CHECK(out->mode == InstanceMode::Shared);
        CHECK(test::read_file(fx.config.shared_root / (sha + ".kernel")) == kernel);
        // The domain boots from the host-local copy: libvirt chowns what <kernel> names.
        CHECK(fs::read_symlink(fx.context_dir("web1") / "vmlinuz") == fx.config.local_root / (sha + ".kernel"));
        CHECK(test::read_file(fx.context_dir("web1") / "vmlinuz") == kernel);
    }
}

// An independent instance whose host-local copy can no longer be had runs on the healthy
// shared base again instead of being refused (its start is the moment it is safe to move it).
TEST_CASE("an independent instance whose local copy is lost returns to a healthy shared base", "[lock_and_load]")
{
    test::TempDir dir;
    test::HookFixture fx(dir.path());
    fx.config.lock_wait = std::chrono::seconds(1);
    const auto paths = fx.paths("web1");

    {   // The shared base's lock is busy past the limit: the instance becomes independent.
        const test::LockHolderProcess holder(fx.shared_base_lock(), 30s);
        auto out = prepare_instance(fx.config, paths, load_options());
        REQUIRE(out);
        REQUIRE(out->mode == InstanceMode::Independent);
    }
    // The shared base becomes healthy; the host-local store breaks (a file where its folder was).
    EnsureOptions eo;
    REQUIRE(shared_store(fx.config).ensure(fx.base_spec(), {store_file_source(fx.source_base)}, eo));
    fs::remove_all(fx.config.local_root);
    test::write_file(fx.config.local_root, "not a folder");

    auto out = prepare_instance(fx.config, paths, load_options());
    INFO((out ? std::string() : out.error().message));
    REQUIRE(out);
    CHECK(out->mode == InstanceMode::Shared);
    CHECK(out->base == fx.shared_base());
    CHECK(test::backing_of(fx.overlay("web1")) == fx.shared_base().string());
    const auto state = fx.state("web1");
    CHECK(state.mode == InstanceMode::Shared);
    CHECK_THAT(state.reason, Catch::Contains("host-local copy lost"));
}

// A start waits at most lock_wait for the locks of its shared attempt, however many locks that
// attempt takes (instance, base, boot files), before it falls back to a host-local copy.
TEST_CASE("the locks of one start share one bounded wait", "[lock_and_load][deadline]")
{
    test::TempDir dir;
    test::HookFixture fx(dir.path());
    fx.config.lock_wait = std::chrono::seconds(2);
    const auto paths = fx.paths("web1");
    fs::create_directories(paths.context.dir);

    // The instance lock is busy for 1.8 s, then the base's lock for longer than any wait.
    // Each lock with its own full wait would take 1.8 s + 2 s before the fallback; one shared
    // deadline ends the shared attempt at 2 s.
    const test::LockHolderProcess base_holder(fx.shared_base_lock(), 30s);
    const test::LockHolderProcess instance_holder(paths.context.lock_file, 1800ms);
    const auto t0 = std::chrono::steady_clock::now();
    auto out = prepare_instance(fx.config, paths, load_options());
    const auto took = std::chrono::steady_clock::now() - t0;
    INFO((out ? std::string() : out.error().message));
    REQUIRE(out);
    CHECK(out->mode == InstanceMode::Independent);
    CHECK_THAT(out->reason, Catch::Contains("otherhost"));
    CHECK(took >= 1800ms);
    CHECK(took < 3200ms);
}
