#include "store/trusted_paths.hpp"

#include "support/test_support.hpp"

#include <catch2/catch.hpp>

#include <filesystem>

using namespace appshare;
namespace fs = std::filesystem;

TEST_CASE("is_within compares whole components", "[trusted_paths]")
{
    CHECK(is_within("/a/b/c", "/a/b"));
    CHECK(is_within("/a/b", "/a/b"));
    CHECK_FALSE(is_within("/a/bc", "/a/b"));
    CHECK_FALSE(is_within("/a", "/a/b"));
    CHECK(is_within("/a/b/c", "/a/b/"));
}

TEST_CASE("check_inside_root refuses escapes and symlinks", "[trusted_paths]")
{
    test::TempDir dir;
    const auto root = dir / "root";
    fs::create_directories(root / "ctx");

    SECTION("a plain path below the root, existing or not") {
        CHECK(check_inside_root(root / "ctx", root, "context directory"));
        CHECK(check_inside_root(root / "missing" / "x", root, "overlay"));
    }
    SECTION("the root itself, paths outside and '..' are refused") {
        CHECK(check_inside_root(root, root, "x").error().code == ErrorCode::UnsafePath);
        CHECK(check_inside_root("/etc/passwd", root, "x").error().code == ErrorCode::UnsafePath);
        const auto r = check_inside_root(root / ".." / "etc", root, "context directory");
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::UnsafePath);
        CHECK_THAT(r.error().message, Catch::Contains("context directory"));
        CHECK(check_inside_root("relative/x", root, "x").error().code == ErrorCode::UnsafePath);
    }
    SECTION("a symlinked component is refused, even when it points inside") {
        fs::create_directory_symlink("/etc", root / "evil");
        const auto r = check_inside_root(root / "evil" / "shadow", root, "overlay");
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::UnsafePath);
        CHECK_THAT(r.error().message, Catch::Contains("symbolic link"));
        fs::create_directory_symlink(root / "ctx", root / "inside");
        CHECK_FALSE(check_inside_root(root / "inside", root, "context directory"));
    }
}

TEST_CASE("source files must resolve inside allowed directories", "[trusted_paths]")
{
    test::TempDir dir;
    const auto allowed = dir / "allowed";
    fs::create_directories(allowed / "sub");
    test::write_file(allowed / "sub" / "base.qcow2", "x");
    test::write_file(dir / "secret", "s");

    SECTION("a file inside is resolved") {
        auto r = resolve_allowed_source_file(allowed / "sub" / "base.qcow2", {allowed});
        REQUIRE(r);
        CHECK(*r == fs::canonical(allowed / "sub" / "base.qcow2"));
    }
    SECTION("a file outside, or a symlink escaping, is refused") {
        CHECK(resolve_allowed_source_file(dir / "secret", {allowed}).error().code == ErrorCode::UnsafePath);
        fs::create_symlink(dir / "secret", allowed / "link");
        auto r = resolve_allowed_source_file(allowed / "link", {allowed});
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::UnsafePath);
        CHECK_THAT(r.error().message, Catch::Contains("allowed_source_dirs"));
        CHECK(resolve_allowed_source_file(allowed / "sub" / ".." / ".." / "secret", {allowed}).error().code ==
              ErrorCode::UnsafePath);
    }
    SECTION("no allowed directory configured, a directory, a missing file") {
        CHECK(resolve_allowed_source_file(allowed / "sub" / "base.qcow2", {}).error().code == ErrorCode::UnsafePath);
        CHECK(resolve_allowed_source_file(allowed / "sub", {allowed}).error().code == ErrorCode::UnsafePath);
        CHECK(resolve_allowed_source_file(allowed / "nope", {allowed}).error().code == ErrorCode::Io);
    }
}

TEST_CASE("source URLs must start with an allowed prefix at a boundary", "[trusted_paths]")
{
    const std::vector<std::string> prefixes{"https://mirror.example.org/appliances/", "http://127.0.0.1:8080/img"};

    SECTION("allowed") {
        CHECK(check_allowed_url("https://mirror.example.org/appliances/demo.qcow2", prefixes));
        CHECK(check_allowed_url("HTTPS://Mirror.Example.org/appliances/demo.qcow2", prefixes));
        CHECK(check_allowed_url("http://127.0.0.1:8080/img/x.qcow2", prefixes));
        CHECK(check_allowed_url("http://127.0.0.1:8080/img", prefixes));
    }
    SECTION("refused") {
        for (const std::string url : {"https://mirror.example.org/other/demo.qcow2",
                                      "https://mirror.example.org/appliances/../secret",
                                      "https://mirror.example.org/appliances/%2e%2E/secret",
                                      "http://127.0.0.1:8080/images/x",
                                      "http://127.0.0.1:8080/img.evil/x",
                                      "https://mirror.example.org.evil.com/appliances/x",
                                      "ftp://mirror.example.org/appliances/x",
                                      "https://user:pw@mirror.example.org/appliances/x",
                                      "https://mirror.example.org/appliances/a b"}) {
            INFO(url);
            auto r = check_allowed_url(url, prefixes);
            REQUIRE_FALSE(r);
            CHECK(r.error().code == ErrorCode::UnsafePath);
            CHECK(r.error().message.find("pw@") == std::string::npos);
        }
        CHECK_THAT(check_allowed_url("https://x/y", {}).error().message, Catch::Contains("no allowed_url_prefixes"));
    }
}
