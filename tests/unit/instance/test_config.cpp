#include "instance/config.hpp"

#include "support/test_support.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <sstream>

using namespace appshare;

TEST_CASE("configuration file parsing", "[config]")
{
    SECTION("defaults keep images under /var/lib/libvirt/images") {
        auto c = parse_config("", "empty.conf");
        REQUIRE(c);
        CHECK(c->shared_root == "/var/lib/libvirt/images/appshare/shared");
        CHECK(c->context_root == "/var/lib/libvirt/images/appshare/contexts");
        CHECK(c->lock_wait == std::chrono::seconds(120));
        CHECK(c->virt_type == "auto");
        CHECK(c->gc_grace == std::chrono::hours(24));
        CHECK(c->host_gone == std::chrono::hours(72));
        CHECK(c->max_base_bytes == (std::uint64_t{32} << 30));
    }
    SECTION("every key") {
        auto c = parse_config(R"(# comment
shared_root = "/mnt/shared/bases"   # trailing comment
context_root = "/srv/ctx"
local_root = "/srv/local"
lock_wait_seconds = 7
load_timeout_seconds = 600
uri = "qemu:///system"
virt_type = "qemu"
allowed_source_dirs = ["/srv/appliances", "/mnt/a#b"]
allowed_url_prefixes = ["http://127.0.0.1:8080/"]
log = "/var/log/appshare.log"
gc_grace_seconds = 0
host_gone_seconds = 7200
max_base_bytes = 1073741824
)", "test.conf");
        REQUIRE(c);
        CHECK(c->shared_root == "/mnt/shared/bases");
        CHECK(c->context_root == "/srv/ctx");
        CHECK(c->local_root == "/srv/local");
        CHECK(c->lock_wait == std::chrono::seconds(7));
        CHECK(c->load_timeout == std::chrono::seconds(600));
        CHECK(c->uri == "qemu:///system");
        CHECK(c->virt_type == "qemu");
        REQUIRE(c->allowed_source_dirs.size() == 2);
        CHECK(c->allowed_source_dirs[1] == "/mnt/a#b");
        REQUIRE(c->allowed_url_prefixes.size() == 1);
        CHECK(c->log == "/var/log/appshare.log");
        CHECK(c->gc_grace == std::chrono::seconds(0));
        CHECK(c->host_gone == std::chrono::seconds(7200));
        CHECK(c->max_base_bytes == (std::uint64_t{1} << 30));
    }
    SECTION("errors name the file, the line and the key") {
        struct Case { const char* text; const char* needle; };
        const Case cases[] = {
            {"shared_root = relative/path", "shared_root"},
            {"shared_root = \"/a/../b\"", "shared_root"},
            {"lock_wait_seconds = -1", "lock_wait_seconds"},
            {"lock_wait_seconds = 99999999999999999999", "lock_wait_seconds"},
            {"load_timeout_seconds = 1h", "load_timeout_seconds"},
            {"virt_type = \"xen\"", "virt_type"},
            {"gc_grace_seconds = -5", "gc_grace_seconds"},
            {"gc_grace_seconds = 999999999999", "gc_grace_seconds"},
            {"host_gone_seconds = 60", "from 3600"},
            {"max_base_bytes = 1000", "at least 1048576"},
            {"max_base_bytes = 32G", "max_base_bytes"},
            {"max_base_bytes = -1", "max_base_bytes"},
            {"max_base_bytes = 99999999999999999999999", "max_base_bytes"},
            {"color = \"blue\"", "unknown key 'color'"},
            {"just words", "key = value"},
            {"allowed_url_prefixes = [\"ftp://x/\"]", "allowed_url_prefixes"},
            {"allowed_source_dirs = [\"/a\" \"/b\"]", "allowed_source_dirs"},
            {"shared_pool = \"my/pool\"", "shared_pool"},
            {"context_pool = \"-x\"", "context_pool"},
        };
        for (const auto& k : cases) {
            auto c = parse_config(std::string("\n") + k.text + "\n", "bad.conf");
            INFO(k.text);
            REQUIRE_FALSE(c);
            CHECK(c.error().code == ErrorCode::Config);
            CHECK_THAT(c.error().message, Catch::Contains("bad.conf:2") && Catch::Contains(k.needle));
        }
    }
}

TEST_CASE("storage pool settings: a name, or \"\" for none", "[config]")
{
    const Config d;
    CHECK(d.shared_pool == "appshare-shared");
    CHECK(d.context_pool == "appshare-contexts");
    auto c = parse_config("shared_pool = \"images-shared\"\ncontext_pool = \"\"\n", "pools.conf");
    REQUIRE(c);
    CHECK(c->shared_pool == "images-shared");
    CHECK(c->context_pool.empty());
}

TEST_CASE("configuration errors show what came from the file escaped", "[config]")
{
    // Found by fuzzing (tests/fuzz/fuzz_config.cpp): the key and the values were copied raw into
    // the message, which the hook logs and libvirt shows.
    struct Case { std::string text; const char* escaped; };
    const Case cases[] = {
        {"\x1b[2Jkey = 1", "'\\x1b[2Jkey'"},
        {"shared_root = \"rel\x07tive\"", "'rel\\x07tive'"},
        {"virt_type = \"x\x1b[31m\"", "\"x\\x1b[31m\""},
        {"log = \"\x7f\"", "'log'"},
        {"allowed_source_dirs = [\"a\x1b\"]", "'a\\x1b'"},
        {"allowed_url_prefixes = [\"ftp://\x1b\"]", "'ftp://\\x1b'"},
    };
    for (const auto& k : cases) {
        INFO(k.text);
        auto c = parse_config(k.text + "\n", "bad.conf");
        REQUIRE_FALSE(c);
        CHECK_THAT(c.error().message, Catch::Contains(k.escaped));
        CHECK(c.error().message.find_first_of("\x07\x1b\x7f") == std::string::npos);
    }
}

TEST_CASE("configuration file lookup", "[config]")
{
    test::TempDir dir;
    SECTION("an explicit path must exist") {
        auto c = load_config(dir / "missing.conf");
        REQUIRE_FALSE(c);
        CHECK(c.error().code == ErrorCode::Config);
        CHECK_THAT(c.error().message, Catch::Contains("missing.conf"));
    }
    SECTION("an explicit file is read") {
        test::write_file(dir / "a.conf", "lock_wait_seconds = 3\n");
        auto c = load_config(dir / "a.conf");
        REQUIRE(c);
        CHECK(c->lock_wait == std::chrono::seconds(3));
        CHECK(c->origin == dir / "a.conf");
    }
    SECTION("APPSHARE_CONFIG is honoured") {
        test::write_file(dir / "env.conf", "lock_wait_seconds = 4\n");
        setenv("APPSHARE_CONFIG", (dir / "env.conf").c_str(), 1);
        auto c = load_config();
        unsetenv("APPSHARE_CONFIG");
        REQUIRE(c);
        CHECK(c->lock_wait == std::chrono::seconds(4));
    }
}

TEST_CASE("the configuration the package ships reads as the built-in defaults", "[config]")
{
    const auto shipped = std::filesystem::path(APPSHARE_TEST_SOURCE_DIR) / "packaging" / "appshare.conf";
    auto c = parse_config(test::read_file(shipped), shipped.string());
    REQUIRE(c);
    const Config defaults;
    CHECK(c->shared_root == defaults.shared_root);
    CHECK(c->context_root == defaults.context_root);
    CHECK(c->local_root == defaults.local_root);
    CHECK(c->lock_wait == defaults.lock_wait);
    CHECK(c->uri == defaults.uri);
    CHECK(c->allowed_source_dirs.empty());

    SECTION("and each key it shows, commented out, is one appshare knows, with its default")
    {
        std::string uncommented;
        std::istringstream lines(test::read_file(shipped));
        for (std::string line; std::getline(lines, line);) {
            // "#key = value": a setting commented out (prose comments have a space after '#').
            if (line.size() > 1 && line[0] == '#' && line[1] != ' ' && line.find(" = ") != std::string::npos) {
                uncommented += line.substr(1) + "\n";
            }
        }
        REQUIRE_FALSE(uncommented.empty());
        auto all = parse_config(uncommented, shipped.string());
        REQUIRE(all);
        CHECK(all->shared_root == defaults.shared_root);
        CHECK(all->gc_grace == defaults.gc_grace);
        CHECK(all->host_gone == defaults.host_gone);
        CHECK(all->max_base_bytes == defaults.max_base_bytes);
    }
}
