// Storage pools (issue 14, item 1): after the command changed appshare's storage, `virsh
// vol-list` shows the shared bases and every instance's overlay with its backing store; a
// user's pool of that name is never redefined.
#include "support/install_env.hpp"

#include <catch2/catch.hpp>

using namespace appshare;
using namespace appshare::test;
namespace fs = std::filesystem;

namespace {

// This env's configuration with the default pool names (the pools the README names).
void use_default_pools(const InstallEnv& env)
{
    Config s = env.settings();
    s.shared_pool = Config{}.shared_pool;
    s.context_pool = Config{}.context_pool;
    write_config_file(env.config, s);
}

std::string pool_target(const std::string& pool)
{
    const auto xml = run_ok({"virsh", "pool-dumpxml", pool});
    const auto from = xml.find("<path>");
    REQUIRE(from != std::string::npos);
    return xml.substr(from + 6, xml.find("</path>") - from - 6);
}

}  // namespace

TEST_CASE("install defines the pools and vol-list shows the overlay with its backing store until uninstall", "[pools][integration]")
{
    InstallEnv env;
    use_default_pools(env);
    const auto bundle = env.sample_bundle();
    const auto name = unique_name("pooled");
    const auto out = appshare_ok({"install", bundle.dir.string(), "--name", name});
    CHECK_FALSE(has(out, "warning"));

    // Defined, started, autostart on, over the configured folders.
    const auto pools = run_ok({"virsh", "pool-list", "--all", "--autostart"});
    CHECK_THAT(pools, Catch::Contains("appshare-shared") && Catch::Contains("appshare-contexts"));
    CHECK(has(run_ok({"virsh", "pool-info", "appshare-contexts"}), "running"));
    CHECK(pool_target("appshare-shared") == env.shared.string());
    CHECK(pool_target("appshare-contexts") == (env.contexts / ".volumes").string());

    const auto vols = run_ok({"virsh", "vol-list", "appshare-contexts"});
    INFO(vols);
    CHECK(has(vols, name + ".qcow2"));
    const auto vol = run_ok({"virsh", "vol-dumpxml", "--pool", "appshare-contexts", name + ".qcow2"});
    INFO(vol);
    CHECK(has(vol, "<format type='qcow2'/>"));
    CHECK(has(vol, "<backingStore>"));
    CHECK(has(vol, "<path>" + (env.context(name) / "base").string() + "</path>"));
    // The shared base is a volume of the shared pool.
    REQUIRE(env.shared_files(".qcow2").size() == 1);
    CHECK(has(run_ok({"virsh", "vol-list", "appshare-shared"}), env.shared_files(".qcow2")[0].filename().string()));

    // A second install reuses the pools as they are (no second definition, no warning).
    const auto second = unique_name("pooled");
    CHECK_FALSE(has(appshare_ok({"install", bundle.dir.string(), "--name", second}), "warning"));
    CHECK(has(run_ok({"virsh", "vol-list", "appshare-contexts"}), second + ".qcow2"));

    // Uninstall refreshes: the volume is gone, the other stays.
    appshare_ok({"uninstall", name});
    const auto after = run_ok({"virsh", "vol-list", "appshare-contexts"});
    INFO(after);
    CHECK_FALSE(has(after, name + ".qcow2"));
    CHECK(has(after, second + ".qcow2"));
}

TEST_CASE("a user's pool of that name over another folder is left alone and reported", "[pools][integration]")
{
    InstallEnv env;
    use_default_pools(env);
    const fs::path theirs = env.root / "theirs";
    fs::create_directories(theirs);
    run_ok({"virsh", "pool-define-as", "appshare-contexts", "dir", "--target", theirs.string()});
    const auto before = run_ok({"virsh", "pool-dumpxml", "appshare-contexts"});

    const auto bundle = env.sample_bundle();
    const auto out = appshare_ok({"install", bundle.dir.string(), "--name", unique_name("mine")});
    INFO(out);
    // Reported once, naming the setting that avoids it.
    CHECK(std::count(out.begin(), out.end(), '\n') > 0);
    std::size_t warnings = 0;
    for (auto at = out.find("appshare: warning: the storage pool 'appshare-contexts'"); at != std::string::npos;
         at = out.find("appshare: warning: the storage pool 'appshare-contexts'", at + 1)) {
        ++warnings;
    }
    CHECK(warnings == 1);
    CHECK(has(out, "context_pool"));
    // Not redefined, not started, not given autostart; the other pool is made as usual.
    CHECK(run_ok({"virsh", "pool-dumpxml", "appshare-contexts"}) == before);
    CHECK(pool_target("appshare-shared") == env.shared.string());

    SECTION("context_pool = \"\" turns that pool off: no warning")
    {
        Config s = env.settings();
        s.shared_pool = Config{}.shared_pool;
        s.context_pool = "";
        write_config_file(env.config, s);
        const auto quiet = appshare_ok({"install", bundle.dir.string(), "--name", unique_name("quiet")});
        CHECK_FALSE(has(quiet, "warning"));
    }
}

TEST_CASE("a user's pool over appshare's folder is used, not doubled", "[pools][integration]")
{
    InstallEnv env;
    use_default_pools(env);
    fs::create_directories(env.shared);
    run_ok({"virsh", "pool-define-as", "my-bases", "dir", "--target", env.shared.string()});
    run_ok({"virsh", "pool-start", "my-bases"});
    const auto bundle = env.sample_bundle();
    const auto out = appshare_ok({"install", bundle.dir.string(), "--name", unique_name("reuse")});
    CHECK_FALSE(has(out, "warning"));
    CHECK_FALSE(has(run_ok({"virsh", "pool-list", "--all"}), "appshare-shared"));
    REQUIRE(env.shared_files(".qcow2").size() == 1);
    CHECK(has(run_ok({"virsh", "vol-list", "my-bases"}), env.shared_files(".qcow2")[0].filename().string()));
}
