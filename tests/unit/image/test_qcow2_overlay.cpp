#include "image/qcow2_overlay.hpp"

#include "image/qcow2_header.hpp"
#include "support/result_checks.hpp"
#include "support/test_support.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <sys/stat.h>

using namespace appshare;
using appshare::test::TempDir;
using appshare::test::read_file;
using appshare::test::run;
using appshare::test::run_ok;
using appshare::test::write_file;

namespace {

// What qemu-img itself makes for the same arguments.
void qemu_img_overlay(const std::filesystem::path& out, const std::string& backing, const std::string& format,
                      std::uint64_t size)
{
    run_ok({"qemu-img", "create", "-q", "-f", "qcow2", "-o", "cluster_size=65536", "-F", format, "-b", backing, "-u",
            out.string(), std::to_string(size)});
}

nlohmann::json info(const std::filesystem::path& image)
{
    return nlohmann::json::parse(run_ok({"qemu-img", "info", "--output=json", image.string()}));
}

// The offset of the first byte where `a` and `b` differ, or -1 when they are identical (a
// readable failure for multi-megabyte files).
long long first_difference(const std::string& a, const std::string& b)
{
    const auto n = std::min(a.size(), b.size());
    for (std::size_t i = 0; i < n; ++i) {
        if (a[i] != b[i]) return static_cast<long long>(i);
    }
    return a.size() == b.size() ? -1 : static_cast<long long>(n);
}

std::vector<std::string> files_in(const std::filesystem::path& dir)
{
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(dir)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}

}  // namespace

TEST_CASE("create_qcow2_overlay writes what qemu-img create writes", "[qcow2_overlay]")
{
    // Comparison is of the file contents. They are identical, feature name table included (we
    // write the same 8 entries in qemu-img's order). The one difference is allocation, not
    // content: qemu-img writes the all-zero L1 table, we leave it as a hole (ftruncate), so
    // `qemu-img info`'s actual-size may differ and is not compared.
    struct Case {
        std::uint64_t size;
        std::uint64_t expected_virtual;
        const char* format;
    };
    const std::vector<Case> cases{
        {1ULL << 20, 1ULL << 20, "qcow2"},
        {64ULL << 20, 64ULL << 20, "raw"},
        {1ULL << 30, 1ULL << 30, "qcow2"},
        {(4ULL << 30) + 1, (4ULL << 30) + 512, "raw"},  // rounded up to 512, like qemu-img
        {2ULL << 40, 2ULL << 40, "qcow2"},
        {1ULL << 51, 1ULL << 51, "qcow2"},  // the largest: a 32 MiB L1 table over 512 clusters
    };
    for (const auto& c : cases) {
        DYNAMIC_SECTION("size " << c.size << " over a " << c.format << " base")
        {
            TempDir dir;
            const auto base = dir / "base.img";
            // A real base of the rounded size, so qemu-img check can open the chain.
            run_ok({"qemu-img", "create", "-q", "-f", c.format, base.string(), std::to_string(c.expected_virtual)});
            const auto ours = dir / "ours.qcow2";
            const auto theirs = dir / "theirs.qcow2";
            REQUIRE(create_qcow2_overlay(ours, base, c.format, c.size));
            qemu_img_overlay(theirs, base.string(), c.format, c.size);

            const auto a = read_file(ours);
            const auto b = read_file(theirs);
            CHECK(a.size() == b.size());
            CHECK(first_difference(a, b) == -1);

            const auto check = run({"qemu-img", "check", ours.string()});
            INFO(check.output);
            CHECK(check.status == 0);
            CHECK(check.output.find("No errors were found on the image.") != std::string::npos);

            const auto mine = info(ours);
            const auto ref = info(theirs);
            CHECK(mine["virtual-size"] == c.expected_virtual);
            for (const char* key : {"virtual-size", "backing-filename", "backing-filename-format", "cluster-size",
                                    "format", "dirty-flag"}) {
                INFO(key);
                CHECK(mine[key] == ref[key]);
            }
            CHECK(mine["format-specific"]["data"] == ref["format-specific"]["data"]);
            CHECK(mine["format-specific"]["data"]["compat"] == "1.1");
            CHECK(mine["backing-filename"] == base.string());
            CHECK(mine["backing-filename-format"] == c.format);

            auto header = read_qcow2_header(ours);
            REQUIRE(header);
            CHECK(header->version == 3);
            CHECK(header->cluster_bits == 16);
            CHECK(header->virtual_size == c.expected_virtual);
            CHECK(header->backing_file == base.string());
            CHECK(header->backing_format == std::string(c.format));
            CHECK(header->header_length == 112);
            CHECK(header->incompatible_features == 0);
            CHECK(header->compression_type == 0);

            // Unlike qemu-img's 0666 minus the umask: the overlay holds the guest's data.
            struct stat st_ours {};
            REQUIRE(::stat(ours.c_str(), &st_ours) == 0);
            CHECK((st_ours.st_mode & 07777) == 0600);
            CHECK(files_in(dir.path()) == std::vector<std::string>{"base.img", "ours.qcow2", "theirs.qcow2"});
        }
    }
}

TEST_CASE("create_qcow2_overlay records the backing name as given", "[qcow2_overlay]")
{
    TempDir dir;
    SECTION("a 1023-byte name, the longest qcow2 allows, over a base that does not exist")
    {
        const std::string name = "/" + std::string(1022, 'x');
        REQUIRE(create_qcow2_overlay(dir / "ours.qcow2", name, "raw", 1 << 20));
        qemu_img_overlay(dir / "theirs.qcow2", name, "raw", 1 << 20);
        CHECK(first_difference(read_file(dir / "ours.qcow2"), read_file(dir / "theirs.qcow2")) == -1);
        auto header = read_qcow2_header(dir / "ours.qcow2");
        REQUIRE(header);
        CHECK(header->backing_file == name);
    }
    SECTION("a relative name")
    {
        REQUIRE(create_qcow2_overlay(dir / "ours.qcow2", "base/disk.qcow2", "qcow2", 1 << 20));
        qemu_img_overlay(dir / "theirs.qcow2", "base/disk.qcow2", "qcow2", 1 << 20);
        CHECK(first_difference(read_file(dir / "ours.qcow2"), read_file(dir / "theirs.qcow2")) == -1);
    }
}

TEST_CASE("create_qcow2_overlay makes an overlay QEMU reads and writes through", "[qcow2_overlay]")
{
    TempDir dir;
    const auto base = dir / "base.raw";
    run_ok({"qemu-img", "create", "-q", "-f", "raw", base.string(), "64M"});
    run_ok({"qemu-io", "-f", "raw", "-c", "write -P 0x61 1M 64k", base.string()});
    const auto overlay = dir / "overlay.qcow2";
    REQUIRE(create_qcow2_overlay(overlay, base, "raw", 64 << 20));

    run_ok({"qemu-io", "-f", "qcow2", "-c", "write -P 0x42 0 64k", "-c", "read -P 0x42 0 64k", "-c",
            "read -P 0x61 1M 64k", "-c", "read -P 0 2M 64k", overlay.string()});
    // A wrong pattern must fail, or the reads above prove nothing.
    const auto wrong = run({"qemu-io", "-f", "qcow2", "-c", "read -P 0x42 1M 64k", overlay.string()});
    CHECK(wrong.output.find("Pattern verification failed") != std::string::npos);

    const auto check = run({"qemu-img", "check", overlay.string()});
    INFO(check.output);
    CHECK(check.status == 0);
    // The base was only read.
    run_ok({"qemu-io", "-f", "raw", "-c", "read -P 0 0 64k", "-c", "read -P 0x61 1M 64k", base.string()});
}

TEST_CASE("create_qcow2_overlay never overwrites", "[qcow2_overlay]")
{
    TempDir dir;
    const auto target = dir / "overlay.qcow2";
    SECTION("an existing file is kept as it was")
    {
        write_file(target, "precious");
        auto r = create_qcow2_overlay(target, "/base.qcow2", "qcow2", 1 << 20);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::AlreadyExists);
        CHECK(r.error().message.find(target.string()) != std::string::npos);
        CHECK(read_file(target) == "precious");
        CHECK(files_in(dir.path()) == std::vector<std::string>{"overlay.qcow2"});
    }
    SECTION("a dangling symlink is not followed")
    {
        std::filesystem::create_symlink(dir / "elsewhere", target);
        auto r = create_qcow2_overlay(target, "/base.qcow2", "qcow2", 1 << 20);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::AlreadyExists);
        CHECK_FALSE(std::filesystem::exists(dir / "elsewhere"));
        CHECK(files_in(dir.path()) == std::vector<std::string>{"overlay.qcow2"});
    }
    SECTION("a missing directory is an Io error")
    {
        auto r = create_qcow2_overlay(dir / "no" / "overlay.qcow2", "/base.qcow2", "qcow2", 1 << 20);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::Io);
    }
}

TEST_CASE("create_qcow2_overlay refuses what qcow2 cannot record", "[qcow2_overlay]")
{
    TempDir dir;
    const auto target = dir / "overlay.qcow2";
    auto refused = [&](const Result<void>& r, const std::string& fragment) {
        test::require_refused(r, ErrorCode::UnsafeImage, {fragment, target.string()});
        CHECK(files_in(dir.path()).empty());
    };
    SECTION("size 0") { refused(create_qcow2_overlay(target, "/b", "qcow2", 0), "2 PiB"); }
    SECTION("above 2 PiB")
    {
        refused(create_qcow2_overlay(target, "/b", "qcow2", (1ULL << 51) + 1), "2 PiB");
        refused(create_qcow2_overlay(target, "/b", "qcow2", UINT64_MAX), "2 PiB");
        // qemu-img agrees that this is too large.
        CHECK(run({"qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b", "/b", "-u", (dir / "q").string(),
                   std::to_string((1ULL << 51) + 512)})
                  .status != 0);
    }
    SECTION("an empty backing name") { refused(create_qcow2_overlay(target, "", "qcow2", 1 << 20), "1023"); }
    SECTION("a backing name of 1024 bytes")
    {
        refused(create_qcow2_overlay(target, "/" + std::string(1023, 'x'), "qcow2", 1 << 20), "1023");
    }
    SECTION("a format other than qcow2 or raw")
    {
        refused(create_qcow2_overlay(target, "/b", "vmdk", 1 << 20), "vmdk");
        refused(create_qcow2_overlay(target, "/b", "", 1 << 20), "format");
    }
}

TEST_CASE("create_qcow2_overlay makes the overlay 0600 whatever the umask", "[qcow2_overlay]")
{
    TempDir dir;
    for (const mode_t mask : {mode_t{0}, mode_t{022}, mode_t{077}}) {
        INFO("umask " << mask);
        const mode_t old = ::umask(mask);
        const auto overlay = dir / ("overlay-" + std::to_string(mask) + ".qcow2");
        auto r = create_qcow2_overlay(overlay, "/base.qcow2", "qcow2", 1 << 20);
        ::umask(old);
        REQUIRE(r);
        struct stat st {};
        REQUIRE(::lstat(overlay.c_str(), &st) == 0);
        CHECK((st.st_mode & 07777) == 0600);
    }
}

TEST_CASE("rewrite_qcow2_backing writes what qemu-img rebase -u writes", "[qcow2_overlay]")
{
    TempDir dir;
    const auto ours = dir / "ours.qcow2";
    const auto theirs = dir / "theirs.qcow2";
    struct Case {
        const char* from_format;
        std::string to;
        const char* to_format;
    };
    const std::vector<Case> cases{
        {"qcow2", (dir / "ctx" / "base").string(), "qcow2"},            // a longer name
        {"qcow2", "/b", "qcow2"},                                        // a shorter one
        {"raw", "/srv/appliances/x.raw", "qcow2"},                      // the format changes too
        {"qcow2", "/" + std::string(1022, 'y'), "raw"},                  // the longest qcow2 allows
    };
    for (const auto& c : cases) {
        DYNAMIC_SECTION("from a " << c.from_format << " base to " << c.to.size() << " bytes, " << c.to_format)
        {
            const auto from = dir / (std::string("from.") + c.from_format);
            run_ok({"qemu-img", "create", "-q", "-f", c.from_format, from.string(), "256M"});
            REQUIRE(create_qcow2_overlay(ours, from, c.from_format, 256 << 20));
            // The guest wrote through it (QEMU itself opened it read-write): still ours.
            run_ok({"qemu-io", "-f", "qcow2", "-c", "write -P 0x42 0 1M", ours.string()});
            std::filesystem::copy_file(ours, theirs);
            REQUIRE(rewrite_qcow2_backing(ours, c.to, c.to_format));
            run_ok({"qemu-img", "rebase", "-q", "-f", "qcow2", "-u", "-F", c.to_format, "-b", c.to, theirs.string()});
            CHECK(first_difference(read_file(ours), read_file(theirs)) == -1);
            auto header = read_qcow2_header(ours);
            REQUIRE(header);
            CHECK(header->backing_file == c.to);
            CHECK(header->backing_format == std::string(c.to_format));
            // Rewriting to what it already says changes nothing.
            const auto before = read_file(ours);
            REQUIRE(rewrite_qcow2_backing(ours, c.to, c.to_format));
            CHECK(read_file(ours) == before);
        }
    }
}

TEST_CASE("rewrite_qcow2_backing keeps the guest's data and QEMU reads it through the new backing file", "[qcow2_overlay]")
{
    TempDir dir;
    const auto a = dir / "a.raw";
    run_ok({"qemu-img", "create", "-q", "-f", "raw", a.string(), "16M"});
    run_ok({"qemu-io", "-f", "raw", "-c", "write -P 0x61 1M 64k", a.string()});
    const auto b = dir / "b.raw";
    std::filesystem::copy_file(a, b);
    const auto overlay = dir / "overlay.qcow2";
    REQUIRE(create_qcow2_overlay(overlay, a, "raw", 16 << 20));
    run_ok({"qemu-io", "-f", "qcow2", "-c", "write -P 0x42 0 64k", overlay.string()});
    std::filesystem::remove(a);
    REQUIRE(rewrite_qcow2_backing(overlay, b, "raw"));
    run_ok({"qemu-io", "-f", "qcow2", "-c", "read -P 0x42 0 64k", "-c", "read -P 0x61 1M 64k", overlay.string()});
}

TEST_CASE("rewrite_qcow2_backing refuses a header appshare did not write and leaves the file alone", "[qcow2_overlay]")
{
    TempDir dir;
    const auto target = dir / "overlay.qcow2";
    const auto refused = [&](ErrorCode code, const std::string& fragment) {
        const bool was_file = std::filesystem::is_regular_file(std::filesystem::symlink_status(target));
        const auto before = was_file ? read_file(target) : std::string();
        auto r = rewrite_qcow2_backing(target, "/new/base", "qcow2");
        test::require_refused(r, code, {fragment, target.string()});
        if (was_file) CHECK(read_file(target) == before);
    };
    const auto qemu_img = [&](std::vector<std::string> args) {  // options, then the image of 1 MiB
        std::vector<std::string> argv{"qemu-img", "create", "-q", "-f", "qcow2"};
        argv.insert(argv.end(), args.begin(), args.end());
        argv.push_back(target.string());
        argv.push_back("1M");
        run_ok(argv);
    };
    SECTION("lazy refcounts (a compatible feature)")
    {
        qemu_img({"-o", "lazy_refcounts=on", "-F", "qcow2", "-b", "/b", "-u"});
        refused(ErrorCode::UnsafeImage, "laid out otherwise");
    }
    SECTION("an external data file")
    {
        qemu_img({"-o", "data_file=" + (dir / "data.raw").string(), "-F", "qcow2", "-b", "/b", "-u"});
        refused(ErrorCode::UnsafeImage, "");
    }
    SECTION("an internal snapshot taken by qemu-img")
    {
        run_ok({"qemu-img", "create", "-q", "-f", "raw", (dir / "b.raw").string(), "1M"});
        REQUIRE(create_qcow2_overlay(target, dir / "b.raw", "raw", 1 << 20));
        run_ok({"qemu-img", "snapshot", "-c", "s1", target.string()});
        refused(ErrorCode::UnsafeImage, "laid out otherwise");
    }
    SECTION("a stray byte after the backing file name")
    {
        REQUIRE(create_qcow2_overlay(target, "/b", "qcow2", 1 << 20));
        auto bytes = read_file(target);
        bytes[4096] = 'x';
        write_file(target, bytes);
        refused(ErrorCode::UnsafeImage, "laid out otherwise");
    }
    SECTION("no backing file")
    {
        qemu_img({});
        refused(ErrorCode::UnsafeImage, "no backing file");
    }
    SECTION("not qcow2 at all")
    {
        write_file(target, std::string(70000, 'x'));
        refused(ErrorCode::UnsafeImage, "");
    }
    SECTION("shorter than a cluster")
    {
        write_file(target, std::string("QFI\xfb\0\0\0\3", 8));
        refused(ErrorCode::UnsafeImage, "shorter than its header cluster");
    }
    SECTION("a symbolic link to an overlay is not followed")
    {
        const auto real = dir / "real.qcow2";
        REQUIRE(create_qcow2_overlay(real, "/b", "qcow2", 1 << 20));
        const auto before = read_file(real);
        std::filesystem::create_symlink(real, target);
        refused(ErrorCode::UnsafeImage, "symbolic link");
        CHECK(read_file(real) == before);
    }
    SECTION("a FIFO never blocks")
    {
        REQUIRE(::mkfifo(target.c_str(), 0600) == 0);
        refused(ErrorCode::UnsafeImage, "not a regular file");
    }
    SECTION("a backing name qcow2 cannot record")
    {
        REQUIRE(create_qcow2_overlay(target, "/b", "qcow2", 1 << 20));
        const auto before = read_file(target);
        CHECK_FALSE(rewrite_qcow2_backing(target, "/" + std::string(1023, 'x'), "qcow2"));
        CHECK_FALSE(rewrite_qcow2_backing(target, "/b", "vmdk"));
        CHECK(read_file(target) == before);
    }
}
