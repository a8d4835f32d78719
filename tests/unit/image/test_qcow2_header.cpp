#include "image/qcow2_header.hpp"

#include "support/result_checks.hpp"
#include "support/test_support.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <random>
#include <string>
#include <vector>

using namespace appshare;
using appshare::test::TempDir;
using appshare::test::file_bytes;
using appshare::test::run_ok;
using appshare::test::write_bytes;

namespace {

// A hand-made image prefix: a zeroed buffer with big-endian fields written into it.
struct Bytes {
    std::vector<std::byte> b;
    explicit Bytes(std::size_t n) : b(n) {}
    void u32(std::size_t off, std::uint32_t v) { test::put_be32(b, off, v); }
    void u64(std::size_t off, std::uint64_t v) { test::put_be64(b, off, v); }
    void str(std::size_t off, std::string_view s)
    {
        for (std::size_t i = 0; i < s.size(); ++i) b.at(off + i) = static_cast<std::byte>(s[i]);
    }
};

// A minimal valid version 3 header (64 KiB clusters, 1 GiB, header_length 112) in `n` bytes.
Bytes v3_header(std::size_t n = 4096)
{
    Bytes h(n);
    h.str(0, "QFI\xfb");
    h.u32(4, 3);
    h.u32(20, 16);
    h.u64(24, 1ULL << 30);
    h.u32(96, 4);
    h.u32(100, 112);
    return h;
}

Bytes v2_header(std::size_t n = 4096)
{
    Bytes h(n);
    h.str(0, "QFI\xfb");
    h.u32(4, 2);
    h.u32(20, 16);
    h.u64(24, 1ULL << 30);
    return h;
}

constexpr std::uint64_t kFile = 3 * 65536;  // a plausible file size for the crafted images
constexpr std::string_view kOrigin = "bundle/images/base.qcow2";

// Parses `h` and requires an UnsafeImage refusal whose message names the origin and contains `needle`.
void require_refused(const Bytes& h, std::uint64_t file_size, const std::string& needle)
{
    const auto r = parse_qcow2_header(h.b, file_size, kOrigin);
    const auto message = test::require_refused(r, ErrorCode::UnsafeImage, {needle});
    CHECK(message.rfind(std::string(kOrigin), 0) == 0);
}

}  // namespace

TEST_CASE("qcow2 header reader reads images made by qemu-img", "[qcow2_header]")
{
    TempDir dir;
    const auto base = dir / "base.qcow2";

    SECTION("plain version 3") {
        run_ok({"qemu-img", "create", "-q", "-f", "qcow2", base.string(), "64M"});
        auto h = read_qcow2_header(base);
        REQUIRE(h);
        CHECK(h->version == 3);
        CHECK(h->virtual_size == 64ULL * 1024 * 1024);
        CHECK(h->cluster_bits == 16);
        CHECK(h->crypt_method == 0);
        CHECK(h->incompatible_features == 0);
        CHECK(h->header_length >= 104);
        CHECK(h->header_length % 8 == 0);
        CHECK_FALSE(h->backing_file);
        CHECK_FALSE(h->backing_format);
        CHECK_FALSE(h->data_file);
        CHECK_FALSE(h->external_data_file);
    }
    SECTION("version 2 (compat=0.10)") {
        run_ok({"qemu-img", "create", "-q", "-f", "qcow2", "-o", "compat=0.10", base.string(), "3G"});
        auto h = read_qcow2_header(base);
        REQUIRE(h);
        CHECK(h->version == 2);
        CHECK(h->header_length == 72);
        CHECK(h->virtual_size == 3ULL << 30);
        CHECK(h->incompatible_features == 0);
        CHECK_FALSE(h->backing_file);
    }
    SECTION("backing file with backing format") {
        run_ok({"qemu-img", "create", "-q", "-f", "qcow2", base.string(), "64M"});
        const auto overlay = dir / "overlay.qcow2";
        run_ok({"qemu-img", "create", "-q", "-f", "qcow2", "-b", base.string(), "-F", "qcow2", overlay.string()});
        auto h = read_qcow2_header(overlay);
        REQUIRE(h);
        REQUIRE(h->backing_file);
        CHECK(*h->backing_file == base.string());
        REQUIRE(h->backing_format);
        CHECK(*h->backing_format == "qcow2");
        CHECK(h->virtual_size == 64ULL * 1024 * 1024);
    }
    SECTION("version 2 with backing file") {
        run_ok({"qemu-img", "create", "-q", "-f", "qcow2", base.string(), "64M"});
        const auto overlay = dir / "overlay.qcow2";
        run_ok({"qemu-img", "create", "-q", "-f", "qcow2", "-o", "compat=0.10", "-b", "base.qcow2", "-F", "qcow2",
                overlay.string()});
        auto h = read_qcow2_header(overlay);
        REQUIRE(h);
        CHECK(h->version == 2);
        REQUIRE(h->backing_file);
        CHECK(*h->backing_file == "base.qcow2");
        REQUIRE(h->backing_format);
        CHECK(*h->backing_format == "qcow2");
    }
    SECTION("backing file without a recorded format") {
        // qemu-img 7.2 refuses to write this (create and rebase -u both want -F), so take an
        // overlay with a format and turn its backing-format extension into an unknown one.
        run_ok({"qemu-img", "create", "-q", "-f", "qcow2", base.string(), "64M"});
        const auto overlay = dir / "overlay.qcow2";
        run_ok({"qemu-img", "create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", overlay.string()});
        auto bytes = file_bytes(overlay);
        auto before = parse_qcow2_header(bytes, bytes.size(), "overlay");
        REQUIRE(before);
        REQUIRE(before->backing_format);
        // Find the extension (type 0xe2792aca) after the header and rename its type.
        bool patched = false;
        for (std::size_t off = before->header_length; off + 8 <= bytes.size() && off < 4096; off += 8) {
            if (bytes[off] == std::byte{0xe2} && bytes[off + 1] == std::byte{0x79} &&
                bytes[off + 2] == std::byte{0x2a} && bytes[off + 3] == std::byte{0xca}) {
                bytes[off] = std::byte{0x12};
                patched = true;
                break;
            }
        }
        REQUIRE(patched);
        write_bytes(overlay, bytes);
        auto h = read_qcow2_header(overlay);
        REQUIRE(h);
        REQUIRE(h->backing_file);
        CHECK(*h->backing_file == "base.qcow2");
        CHECK_FALSE(h->backing_format);
    }
    SECTION("external data file") {
        const auto data = dir / "data.raw";
        run_ok({"qemu-img", "create", "-q", "-f", "qcow2", "-o", "data_file=" + data.string(), base.string(), "16M"});
        auto h = read_qcow2_header(base);
        REQUIRE(h);
        CHECK(h->external_data_file);
        CHECK((h->incompatible_features & kQcow2IncompatDataFile) != 0);
        REQUIRE(h->data_file);
        CHECK(*h->data_file == data.string());
    }
    SECTION("LUKS encryption") {
        test::run_ok_retrying({"qemu-img", "create", "-q", "-f", "qcow2", "--object", "secret,id=sec0,data=abc", "-o",
                "encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=10", base.string(), "16M"});
        auto h = read_qcow2_header(base);
        REQUIRE(h);
        CHECK(h->crypt_method == 2);
    }
    SECTION("zstd compression and extended L2 entries") {
        run_ok({"qemu-img", "create", "-q", "-f", "qcow2", "-o", "compression_type=zstd,extended_l2=on",
                base.string(), "16M"});
        auto h = read_qcow2_header(base);
        REQUIRE(h);
        CHECK(h->compression_type == 1);
        CHECK((h->incompatible_features & kQcow2IncompatCompression) != 0);
        CHECK((h->incompatible_features & kQcow2IncompatExtendedL2) != 0);
    }
    SECTION("smallest and largest cluster sizes") {
        run_ok({"qemu-img", "create", "-q", "-f", "qcow2", "-o", "cluster_size=512", base.string(), "16M"});
        auto small = read_qcow2_header(base);
        REQUIRE(small);
        CHECK(small->cluster_bits == 9);
        const auto big = dir / "big.qcow2";
        run_ok({"qemu-img", "create", "-q", "-f", "qcow2", "-o", "cluster_size=2M", big.string(), "16M"});
        auto large = read_qcow2_header(big);
        REQUIRE(large);
        CHECK(large->cluster_bits == 21);
    }
    SECTION("truncated to its first 50 bytes") {
        run_ok({"qemu-img", "create", "-q", "-f", "qcow2", base.string(), "64M"});
        auto bytes = file_bytes(base);
        bytes.resize(50);
        write_bytes(base, bytes);
        auto h = read_qcow2_header(base);
        REQUIRE_FALSE(h);
        CHECK(h.error().code == ErrorCode::UnsafeImage);
        CHECK(h.error().message.find(base.string()) != std::string::npos);
        CHECK(h.error().message.find("truncated") != std::string::npos);
    }
    SECTION("wrong magic") {
        run_ok({"qemu-img", "create", "-q", "-f", "raw", base.string(), "1M"});
        auto h = read_qcow2_header(base);
        REQUIRE_FALSE(h);
        CHECK(h.error().code == ErrorCode::UnsafeImage);
        CHECK(h.error().message.find(base.string()) != std::string::npos);
        CHECK(h.error().message.find("not a qcow2 image") != std::string::npos);
    }
    SECTION("empty file") {
        appshare::test::write_file(base, "");
        auto h = read_qcow2_header(base);
        REQUIRE_FALSE(h);
        CHECK(h.error().code == ErrorCode::UnsafeImage);
        CHECK(h.error().message.find("too short") != std::string::npos);
    }
    SECTION("missing file is an I/O error") {
        auto h = read_qcow2_header(dir / "missing.qcow2");
        REQUIRE_FALSE(h);
        CHECK(h.error().code == ErrorCode::Io);
        CHECK(h.error().message.find("missing.qcow2") != std::string::npos);
    }
    SECTION("a directory is not an image") {
        auto h = read_qcow2_header(dir.path());
        REQUIRE_FALSE(h);
        CHECK(h.error().code == ErrorCode::UnsafeImage);
        CHECK(h.error().message.find("not a regular file") != std::string::npos);
    }
}

TEST_CASE("qcow2 header reader accepts well-formed hand-made headers", "[qcow2_header]")
{
    SECTION("minimal version 3") {
        auto h = parse_qcow2_header(v3_header().b, kFile, kOrigin);
        REQUIRE(h);
        CHECK(h->version == 3);
        CHECK(h->header_length == 112);
        CHECK(h->virtual_size == 1ULL << 30);
    }
    SECTION("minimal version 2") {
        auto h = parse_qcow2_header(v2_header().b, kFile, kOrigin);
        REQUIRE(h);
        CHECK(h->version == 2);
        CHECK(h->header_length == 72);
    }
    SECTION("unknown extensions are skipped, known ones read") {
        auto h = v3_header();
        h.u32(112, 0xdeadbeef);  // unknown, 3 bytes, padded to 8
        h.u32(116, 3);
        h.str(120, "abc");
        h.u32(128, 0xe2792aca);  // backing format
        h.u32(132, 3);
        h.str(136, "raw");
        h.u32(144, 0);           // end marker
        auto r = parse_qcow2_header(h.b, kFile, kOrigin);
        REQUIRE(r);
        REQUIRE(r->backing_format);
        CHECK(*r->backing_format == "raw");
    }
    SECTION("backing file name beyond the bytes read is reported with an empty name") {
        auto h = v3_header(4096);
        h.u64(8, 8192);  // inside the first 64 KiB cluster and the file, beyond the 4096 bytes given
        h.u32(16, 10);
        auto r = parse_qcow2_header(h.b, kFile, kOrigin);
        REQUIRE(r);
        REQUIRE(r->backing_file);
        CHECK(r->backing_file->empty());
    }
    SECTION("data-file bit without a name") {
        auto h = v3_header();
        h.u64(72, kQcow2IncompatDataFile);
        auto r = parse_qcow2_header(h.b, kFile, kOrigin);
        REQUIRE(r);
        CHECK(r->external_data_file);
        REQUIRE(r->data_file);
        CHECK(r->data_file->empty());
    }
}

TEST_CASE("qcow2 header reader refuses hostile or damaged headers", "[qcow2_header]")
{
    SECTION("qcow version 1") {
        auto h = v2_header();
        h.u32(4, 1);
        require_refused(h, kFile, "version 1");
    }
    SECTION("unknown version") {
        auto h = v3_header();
        h.u32(4, 4);
        require_refused(h, kFile, "version 4");
    }
    SECTION("cluster_bits too small or too large") {
        auto h = v3_header();
        h.u32(20, 8);
        require_refused(h, kFile, "cluster_bits 8");
        h.u32(20, 22);
        require_refused(h, kFile, "cluster_bits 22");
    }
    SECTION("header_length below 104, unaligned, or beyond the cluster") {
        auto h = v3_header();
        h.u32(100, 96);
        require_refused(h, kFile, "header_length 96");
        h.u32(100, 108);
        require_refused(h, kFile, "header_length 108");
        h.u32(20, 9);  // 512-byte clusters
        h.u32(100, 1024);
        require_refused(h, kFile, "header_length 1024");
    }
    SECTION("header_length beyond the bytes read") {
        auto h = v3_header(4096);
        h.u32(100, 8192);
        require_refused(h, kFile, "beyond its first 4096 bytes");
    }
    SECTION("virtual size beyond what an offset can hold") {
        auto h = v3_header();
        h.u64(24, ~0ULL);
        require_refused(h, kFile, "virtual size");
    }
    SECTION("unknown encryption method") {
        auto h = v3_header();
        h.u32(32, 3);
        require_refused(h, kFile, "encryption method 3");
    }
    SECTION("refcount_order above 6") {
        auto h = v3_header();
        h.u32(96, 7);
        require_refused(h, kFile, "refcount_order 7");
    }
    SECTION("compression bit and compression type disagree") {
        auto h = v3_header();
        h.u64(72, kQcow2IncompatCompression);
        require_refused(h, kFile, "no compression type");
        h.u64(72, 0);
        h.b[104] = std::byte{1};
        require_refused(h, kFile, "feature bit is not set");
    }
    SECTION("extension length past the end of the extension area") {
        auto h = v3_header();
        h.u32(112, 0xdeadbeef);
        h.u32(116, 0xffffffff);
        require_refused(h, kFile, "past the end of the extension area");
    }
    SECTION("extension length running past the end of the file") {
        auto h = v3_header(4096);
        h.u32(112, 0xdeadbeef);
        h.u32(116, 60000);  // inside the 64 KiB cluster, but the file has only 4096 bytes
        require_refused(h, 4096, "truncated");
    }
    SECTION("extension beyond the bytes read") {
        auto h = v3_header(4096);
        h.u32(112, 0xdeadbeef);
        h.u32(116, 20000);
        require_refused(h, kFile, "beyond its first 4096 bytes");
    }
    SECTION("extension chain walking off the bytes read without an end marker") {
        auto h = v3_header(256);
        for (std::size_t off = 112; off < 256; off += 8) h.u32(off, 0x11111111);  // zero-length unknown
        require_refused(h, kFile, "beyond its first 256 bytes");
    }
    SECTION("too many extensions") {
        auto h = v3_header(4096);
        for (std::size_t off = 112; off + 8 <= 4096; off += 8) h.u32(off, 0x11111111);
        require_refused(h, kFile, "more than 128 header extensions");
    }
    SECTION("backing format extension twice") {
        auto h = v3_header();
        h.u32(112, 0xe2792aca);
        h.u32(116, 5);
        h.str(120, "qcow2");
        h.u32(128, 0xe2792aca);
        h.u32(132, 3);
        h.str(136, "raw");
        require_refused(h, kFile, "appears twice");
    }
    SECTION("extension area ending mid-extension-header") {
        auto h = v3_header();
        h.u64(8, 116);  // backing name right after 4 bytes of extension area
        h.u32(16, 4);
        h.u32(112, 0x11111111);
        require_refused(h, kFile, "runs past the end of the extension area");
    }
    SECTION("backing file name longer than 1023 bytes") {
        auto h = v3_header();
        h.u64(8, 512);
        h.u32(16, 1024);
        require_refused(h, kFile, "more than 1023");
    }
    SECTION("backing file name offset past the end of the file") {
        auto h = v3_header(4096);
        h.u64(8, 8192);
        h.u32(16, 10);
        require_refused(h, 4096, "truncated");
    }
    SECTION("backing file name outside the first cluster") {
        auto h = v3_header();
        h.u64(8, 65536);
        h.u32(16, 10);
        require_refused(h, 1ULL << 20, "first cluster");
    }
    SECTION("backing file offset that would overflow offset + length") {
        auto h = v3_header();
        h.u64(8, ~0ULL - 4);
        h.u32(16, 100);
        require_refused(h, kFile, "first cluster");
    }
    SECTION("backing file name inside the fixed header") {
        auto h = v3_header();
        h.u64(8, 16);
        h.u32(16, 8);
        require_refused(h, kFile, "inside the fixed header");
    }
    SECTION("truncated hand-made version 3 header") {
        auto h = v3_header(4096);
        require_refused(h, 90, "truncated");  // file ends inside the 104-byte header
    }
    SECTION("wrong magic") {
        auto h = v3_header();
        h.str(0, "QFI\xfa");
        require_refused(h, kFile, "not a qcow2 image");
    }
    SECTION("fewer than four bytes") {
        Bytes h(2);
        require_refused(h, 2, "too short");
    }
}

TEST_CASE("qcow2 header reader survives random corruption of a real header", "[qcow2_header]")
{
    TempDir dir;
    const auto base = dir / "base.qcow2";
    const auto overlay = dir / "overlay.qcow2";
    run_ok({"qemu-img", "create", "-q", "-f", "qcow2", base.string(), "64M"});
    run_ok({"qemu-img", "create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", overlay.string()});
    const auto original = file_bytes(overlay);
    REQUIRE(original.size() >= kQcow2PrefixBytes);
    std::vector<std::byte> prefix(original.begin(), original.begin() + kQcow2PrefixBytes);

    std::mt19937 rng(12345);  // fixed seed: the same corruptions on every run
    std::size_t accepted = 0;
    std::size_t refused = 0;
    for (int round = 0; round < 3000; ++round) {
        auto bytes = prefix;
        const int flips = 1 + static_cast<int>(rng() % 4);
        for (int i = 0; i < flips; ++i) {
            // Mostly the fixed header and extension area, where the fields that matter live.
            const std::size_t at = rng() % 2 == 0 ? rng() % 112 : rng() % 1024;
            bytes[at] = static_cast<std::byte>(rng());
        }
        const std::uint64_t file_size = rng() % 8 == 0 ? rng() % 4096 : original.size();
        auto r = parse_qcow2_header(bytes, file_size, kOrigin);
        if (r) {
            ++accepted;
            CHECK((r->version == 2 || r->version == 3));
            CHECK(r->cluster_bits >= 9);
            CHECK(r->cluster_bits <= 21);
            CHECK(r->header_length <= (1U << r->cluster_bits));
            CHECK(r->crypt_method <= 2);
            if (r->backing_file) CHECK(r->backing_file->size() <= 1023);
        } else {
            ++refused;
            CHECK(r.error().code == ErrorCode::UnsafeImage);
            CHECK(r.error().message.rfind(std::string(kOrigin), 0) == 0);
        }
    }
    // Both outcomes occur, so the loop really exercises the checks.
    CHECK(accepted > 0);
    CHECK(refused > 0);
}

