#include "store/remote_source.hpp"

#include "support/http_server.hpp"
#include "support/test_support.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <thread>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace appshare;
namespace fs = std::filesystem;

namespace {

Result<std::string> drain(const BlobSource& s)
{
    std::string out;
    auto r = s.stream([&](std::span<const std::byte> b) -> Result<void> {
        out.append(reinterpret_cast<const char*>(b.data()), b.size());
        return ok();
    });
    if (!r) return std::move(r).error();
    return out;
}

}  // namespace

TEST_CASE("file sources stream regular files only, allowed ones only", "[remote_source]")
{
    test::TempDir dir;
    fs::create_directories(dir / "allowed");
    const std::string content(3 << 20, 'q');
    test::write_file(dir / "allowed" / "base", content);
    test::write_file(dir / "outside", "secret");

    SECTION("store files") {
        auto s = drain(store_file_source(dir / "allowed" / "base"));
        REQUIRE(s);
        CHECK(*s == content);
        fs::create_symlink(dir / "outside", dir / "link");
        CHECK_FALSE(drain(store_file_source(dir / "link")));
    }
    SECTION("metadata files are checked when streamed") {
        CHECK(*drain(allowed_file_source(dir / "allowed" / "base", {dir / "allowed"})) == content);
        auto r = drain(allowed_file_source(dir / "outside", {dir / "allowed"}));
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::UnsafePath);
    }
}

TEST_CASE("http sources refuse URLs outside the allowed prefixes before connecting", "[remote_source]")
{
    auto r = drain(http_source("http://127.0.0.1:1/other/x", {"http://127.0.0.1:1/img/"}));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ErrorCode::UnsafePath);
    auto unreachable = drain(http_source("http://127.0.0.1:1/img/x", {"http://127.0.0.1:1/img/"}));
    REQUIRE_FALSE(unreachable);
    CHECK(unreachable.error().code == ErrorCode::Io);
    CHECK_THAT(unreachable.error().message, Catch::Contains("127.0.0.1:1/img/x"));
}

namespace {

// What a source gives to a sink that counts, and how long it took.
struct Drained {
    Result<void> result = ok();
    std::uint64_t bytes = 0;
    std::chrono::milliseconds took{0};
};

Drained drain_counting(const BlobSource& s)
{
    Drained d;
    const auto t0 = std::chrono::steady_clock::now();
    d.result = s.stream([&](std::span<const std::byte> b) -> Result<void> {
        d.bytes += b.size();
        return ok();
    });
    d.took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
    return d;
}

SourceLimits limited_to(std::uint64_t max_bytes)
{
    SourceLimits l;
    l.max_bytes = max_bytes;
    l.stall_timeout = std::chrono::seconds(2);
    l.deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    return l;
}

}  // namespace

TEST_CASE("a file source larger than max_bytes is refused before anything is copied", "[remote_source][limits]")
{
    test::TempDir dir;
    fs::create_directories(dir / "allowed");
    test::write_file(dir / "allowed" / "big", std::string(3 << 20, 'b'));

    for (const auto& source : {allowed_file_source(dir / "allowed" / "big", {dir / "allowed"}, limited_to(1 << 20)),
                               store_file_source(dir / "allowed" / "big", limited_to(1 << 20))}) {
        const auto d = drain_counting(source);
        REQUIRE_FALSE(d.result);
        CHECK(d.result.error().code == ErrorCode::LoadFailed);
        CHECK(d.bytes == 0);
        CHECK_THAT(d.result.error().message, Catch::Contains("big") && Catch::Contains("max_base_bytes"));
        // The definer learns the limit, never the file's size.
        CHECK_THAT(d.result.error().message, !Catch::Contains(std::to_string(3 << 20)) && !Catch::Contains("3.0 MiB"));
    }
    SECTION("exactly max_bytes passes") {
        const auto d = drain_counting(store_file_source(dir / "allowed" / "big", limited_to(3 << 20)));
        CHECK(d.result);
        CHECK(d.bytes == (3U << 20));
    }
}

TEST_CASE("a FIFO under an allowed directory fails at once instead of blocking the load", "[remote_source][limits]")
{
    test::TempDir dir;
    fs::create_directories(dir / "allowed");
    const auto fifo = dir / "allowed" / "base.qcow2";
    REQUIRE(::mkfifo(fifo.c_str(), 0644) == 0);
    // Should the open block (waiting for a writer), this writer ends it after 5 s, so the test
    // fails on the time taken instead of hanging.
    std::thread rescuer([&] {
        std::this_thread::sleep_for(std::chrono::seconds(5));
        const int fd = ::open(fifo.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
        if (fd >= 0) ::close(fd);
    });
    // Named in metadata, and as the other store's copy (checked with lstat before, but another
    // host may put a FIFO there between that look and the open).
    const auto named = drain_counting(allowed_file_source(fifo, {dir / "allowed"}, limited_to(1 << 30)));
    const auto stored = drain_counting(store_file_source(fifo, limited_to(1 << 30)));
    rescuer.join();
    for (const auto& d : {named, stored}) {
        REQUIRE_FALSE(d.result);
        // Not even the stall timeout (2 s): a FIFO is refused without waiting for a writer.
        CHECK(d.took < std::chrono::seconds(1));
        CHECK_THAT(d.result.error().message, Catch::Contains("base.qcow2"));
    }
}

TEST_CASE("http sources obey max_bytes and never read an error body to its end", "[remote_source][limits][http]")
{
    test::TempDir dir;
    fs::create_directories(dir / "www");
    test::write_file(dir / "www" / "base", std::string(3 << 20, 'h'));
    auto server = test::HttpServer::throttled(dir / "www", 64.0 * 1024 * 1024, dir.path());
    const std::vector<std::string> prefixes = {server.url()};
    HttpOptions o;
    o.limits = limited_to(1 << 20);

    SECTION("a Content-Length above the limit: refused before the body") {
        for (const char* path : {"base", "huge"}) {
            const auto d = drain_counting(http_source(server.url(path), prefixes, o));
            REQUIRE_FALSE(d.result);
            CHECK(d.result.error().code == ErrorCode::LoadFailed);
            CHECK(d.bytes == 0);
            CHECK(d.took < std::chrono::seconds(5));
            CHECK_THAT(d.result.error().message, Catch::Contains(path) && Catch::Contains("max_base_bytes"));
        }
    }
    SECTION("without a Content-Length: cut at the limit while streaming") {
        const auto d = drain_counting(http_source(server.url("nolength/base"), prefixes, o));
        REQUIRE_FALSE(d.result);
        CHECK(d.result.error().code == ErrorCode::LoadFailed);
        CHECK(d.bytes <= (1U << 20));
        CHECK_THAT(d.result.error().message, Catch::Contains("max_base_bytes"));
    }
    SECTION("within the limit it streams") {
        o.limits = limited_to(3 << 20);
        const auto d = drain_counting(http_source(server.url("nolength/base"), prefixes, o));
        CHECK(d.result);
        CHECK(d.bytes == (3U << 20));
    }
    SECTION("an endless error body: only its code, at once") {
        o.limits = limited_to(1 << 30);
        o.limits.stall_timeout = std::chrono::seconds(30);
        o.limits.deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        const auto d = drain_counting(http_source(server.url("endless-error"), prefixes, o));
        REQUIRE_FALSE(d.result);
        CHECK(d.bytes == 0);
        CHECK(d.took < std::chrono::seconds(5));
        CHECK_THAT(d.result.error().message, Catch::Contains("answered HTTP 500"));
    }
}

TEST_CASE("a redirect's Location with control bytes is refused and shown escaped", "[remote_source][leaks][http]")
{
    test::TempDir dir;
    fs::create_directories(dir / "www");
    auto server = test::HttpServer::throttled(dir / "www", 1024.0 * 1024, dir.path());
    // The server sends the Location header's bytes as given: ESC, DEL and a lone 0x9b.
    const auto d = drain_counting(http_source(server.url("redirect?to=/base%1B%5B2J%7F%C2%9B"), {server.url()}));
    REQUIRE_FALSE(d.result);
    const auto& m = d.result.error().message;
    CHECK(std::none_of(m.begin(), m.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }));
    CHECK(m.find('\x9b') == std::string::npos);
    CHECK_THAT(m, Catch::Contains("base\\x1b[2J\\x7f\\x9b"));
}
