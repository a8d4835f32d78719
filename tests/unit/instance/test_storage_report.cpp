#include "instance/storage_report.hpp"

#include "support/test_support.hpp"

#include <catch2/catch.hpp>

#include <vector>

#include <sys/stat.h>

using namespace appshare;

TEST_CASE("storage_report adds up what sharing saves", "[storage_report]")
{
    const std::string a(64, 'a');
    const std::string b(64, 'b');

    SECTION("nothing installed: nothing used, ratio 0")
    {
        const auto r = storage_report({});
        CHECK(r.instances == 0);
        CHECK(r.bases.empty());
        CHECK(r.used_bytes == 0);
        CHECK(r.saved_bytes == 0);
        CHECK(r.ratio == 0.0);
    }

    SECTION("three instances on one base: N x base - (base + contexts)")
    {
        const std::vector<InstanceUsage> in = {{a, 1000, 10}, {a, 1000, 20}, {a, 1000, 30}};
        const auto r = storage_report(in);
        REQUIRE(r.bases.size() == 1);
        CHECK(r.bases[0].sha256 == a);
        CHECK(r.bases[0].instances == 3);
        CHECK(r.bases[0].context_bytes == 60);
        CHECK(r.bases[0].full_copies_bytes == 3000);
        CHECK(r.bases[0].used_bytes == 1060);
        CHECK(r.bases[0].saved_bytes == 1940);
        CHECK(r.instances == 3);
        CHECK(r.saved_bytes == 1940);
        CHECK(r.ratio == Approx(3000.0 / 1060.0));
    }

    SECTION("one instance costs its context more than a full copy: negative saving")
    {
        const std::vector<InstanceUsage> in = {{a, 1000, 50}};
        const auto r = storage_report(in);
        CHECK(r.saved_bytes == -50);
        CHECK(r.ratio < 1.0);
    }

    SECTION("two bases are counted apart and ordered by digest")
    {
        const std::vector<InstanceUsage> in = {{b, 500, 5}, {a, 1000, 10}, {b, 500, 5}, {a, 1000, 10}};
        const auto r = storage_report(in);
        REQUIRE(r.bases.size() == 2);
        CHECK(r.bases[0].sha256 == a);
        CHECK(r.bases[1].sha256 == b);
        CHECK(r.bases[0].saved_bytes == 2000 - 1020);
        CHECK(r.bases[1].saved_bytes == 1000 - 510);
        CHECK(r.full_copies_bytes == 3000);
        CHECK(r.used_bytes == 1530);
        CHECK(r.saved_bytes == 1470);
    }
}

TEST_CASE("disk_usage_bytes counts allocated blocks below a directory", "[storage_report]")
{
    test::TempDir tmp;

    SECTION("a sparse file counts its allocated blocks, not its size")
    {
        const auto dir = tmp / "ctx";
        std::filesystem::create_directories(dir);
        test::run_ok({"truncate", "-s", "1G", (dir / "sparse").string()});
        test::write_file(dir / "data", std::string(100000, 'x'));
        const auto used = disk_usage_bytes(dir);
        REQUIRE(used.has_value());
        struct stat st {};
        std::uint64_t expected = 0;
        for (const char* p : {"", "sparse", "data"}) {
            REQUIRE(::lstat((dir / p).c_str(), &st) == 0);
            expected += static_cast<std::uint64_t>(st.st_blocks) * 512;
        }
        CHECK(*used == expected);
        CHECK(*used >= 100000);
        CHECK(*used < (1ULL << 30));
    }

    SECTION("symlinks are not followed")
    {
        const auto dir = tmp / "ctx";
        std::filesystem::create_directories(dir);
        test::write_file(tmp / "big", std::string(1 << 20, 'y'));
        std::filesystem::create_symlink(tmp / "big", dir / "link");
        const auto used = disk_usage_bytes(dir);
        REQUIRE(used.has_value());
        CHECK(*used < (1 << 20));
    }

    SECTION("a missing directory is an Io error naming it")
    {
        const auto used = disk_usage_bytes(tmp / "missing");
        REQUIRE_FALSE(used.has_value());
        CHECK(used.error().code == ErrorCode::Io);
        CHECK(used.error().message.find("missing") != std::string::npos);
    }
}
