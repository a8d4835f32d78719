#include "store/remote_source_reader.hpp"

#include "base/unique_handle.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <thread>

#include <fcntl.h>
#include <unistd.h>

using namespace appshare;
using namespace std::chrono_literals;

namespace {

SourceLimits limits(std::chrono::milliseconds stall, std::chrono::milliseconds total)
{
    SourceLimits l;
    l.stall_timeout = stall;
    l.deadline = std::chrono::steady_clock::now() + total;
    return l;
}

std::chrono::milliseconds since(std::chrono::steady_clock::time_point t0)
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
}

Result<void> push_text(const ByteSink& push, const std::string& text)
{
    return push(std::as_bytes(std::span(text.data(), text.size())));
}

}  // namespace

TEST_CASE("read_with_deadline passes everything in order and the reader's own error", "[remote_source_reader]")
{
    std::string got;
    const ByteSink sink = [&](std::span<const std::byte> b) -> Result<void> {
        got.append(reinterpret_cast<const char*>(b.data()), b.size());
        return ok();
    };
    auto r = read_with_deadline(
        [](const ByteSink& push) -> Result<void> {
            for (int i = 0; i < 100; ++i) {
                if (auto p = push_text(push, std::to_string(i) + ","); !p) return p;
            }
            return ok();
        },
        sink, limits(2s, 10s), "numbers");
    REQUIRE(r);
    std::string want;
    for (int i = 0; i < 100; ++i) want += std::to_string(i) + ",";
    CHECK(got == want);

    auto failed = read_with_deadline(
        [](const ByteSink& push) -> Result<void> {
            if (auto p = push_text(push, "a"); !p) return p;
            return make_error(ErrorCode::Io, "cannot read the thing");
        },
        sink, limits(2s, 10s), "thing");
    REQUIRE_FALSE(failed);
    CHECK(failed.error().message == "cannot read the thing.");
}

TEST_CASE("a read that blocks ends the stream after the stall timeout", "[remote_source_reader]")
{
    // A pipe nobody writes to blocks a read() as a file on a mount that stopped answering does.
    int fds[2];
    REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
    UniqueFd write_end(fds[1]);
    const int read_fd = fds[0];
    const auto t0 = std::chrono::steady_clock::now();
    auto r = read_with_deadline(
        [read_fd](const ByteSink& push) -> Result<void> {
            UniqueFd fd(read_fd);
            char c = 0;
            while (::read(fd.get(), &c, 1) == 1) {
                if (auto p = push(std::as_bytes(std::span(&c, 1))); !p) return p;
            }
            return ok();
        },
        [](std::span<const std::byte>) -> Result<void> { return ok(); }, limits(300ms, 10s), "/srv/stalled.qcow2");
    const auto took = since(t0);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ErrorCode::Io);
    CHECK_THAT(r.error().message, Catch::Contains("/srv/stalled.qcow2") && Catch::Contains("gave nothing"));
    CHECK(took >= 300ms);
    CHECK(took < 2s);
    write_end.reset();  // the abandoned reader sees the end and goes
}

TEST_CASE("a source that trickles ends at the deadline", "[remote_source_reader]")
{
    const auto t0 = std::chrono::steady_clock::now();
    auto r = read_with_deadline(
        [](const ByteSink& push) -> Result<void> {
            for (int i = 0; i < 100; ++i) {
                std::this_thread::sleep_for(50ms);
                if (auto p = push_text(push, "x"); !p) return p;
            }
            return ok();
        },
        [](std::span<const std::byte>) -> Result<void> { return ok(); }, limits(1s, 600ms), "slow source");
    const auto took = since(t0);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Catch::Contains("slow source") && Catch::Contains("load_timeout_seconds"));
    CHECK(took >= 600ms);
    CHECK(took < 2s);
}

TEST_CASE("the sink's error stops the reader", "[remote_source_reader]")
{
    auto r = read_with_deadline(
        [](const ByteSink& push) -> Result<void> {
            for (;;) {
                if (auto p = push_text(push, "y"); !p) return p;
            }
        },
        [](std::span<const std::byte>) -> Result<void> { return make_error(ErrorCode::Io, "disk full"); },
        limits(2s, 10s), "endless");
    REQUIRE_FALSE(r);
    CHECK(r.error().message == "disk full.");
}
