#include "bundle/bundle.hpp"

#include "support/result_checks.hpp"
#include "support/skip.hpp"
#include "support/test_support.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <filesystem>
#include <string>

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

using namespace appshare;
using appshare::test::TempDir;
using appshare::test::openssl_sha256;
using appshare::test::pseudo_random;
using appshare::test::require_refused;
namespace fs = std::filesystem;

namespace {

const std::string kManifestText = "<appliance format=\"1\"><name>demo</name></appliance>\n";

// A bundle directory: appliance.xml, images/base.qcow2 (`image_bytes` pseudo-random bytes),
// boot/vmlinuz.
fs::path make_bundle_dir(const fs::path& dir, std::size_t image_bytes = 100000)
{
    fs::create_directories(dir / "images");
    fs::create_directories(dir / "boot");
    test::write_file(dir / "appliance.xml", kManifestText);
    test::write_file(dir / "images" / "base.qcow2", pseudo_random(image_bytes, 1));
    test::write_file(dir / "boot" / "vmlinuz", "kernel");
    return dir;
}

// Everything in `dir` as a tar archive, names "./appliance.xml", "./images/...".
fs::path make_tar(const fs::path& dir, const fs::path& out, const std::vector<std::string>& extra = {})
{
    std::vector<std::string> argv{"tar"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.insert(argv.end(), {"-cf", out.string(), "-C", dir.string(), "."});
    test::run_ok(argv);
    return out;
}

std::string stream_all(const Bundle& b, std::string_view member, std::size_t* max_chunk = nullptr)
{
    std::string out;
    auto r = b.stream(member, [&](std::span<const std::byte> chunk) -> Result<void> {
        out.append(reinterpret_cast<const char*>(chunk.data()), chunk.size());
        if (max_chunk != nullptr && chunk.size() > *max_chunk) *max_chunk = chunk.size();
        return ok();
    });
    INFO((r ? std::string() : r.error().message));
    REQUIRE(r);
    return out;
}
// A zip archive holding appliance.xml (content "x", stored), written byte by byte after
// PKWARE's APPNOTE.TXT: a local file header and the data, the central directory, its end record.
// (`unzip -t` and Python's zipfile accept it; no tool is needed to make it.)
std::string zip_holding_manifest()
{
    const std::string name = "appliance.xml";
    const std::string data = "x";
    const std::uint32_t crc = 0x8cdc1683;  // CRC-32 of "x"
    std::string zip;
    const auto u16 = [&zip](std::uint32_t v) {
        zip += static_cast<char>(v & 0xff);
        zip += static_cast<char>((v >> 8) & 0xff);
    };
    const auto u32 = [&u16](std::uint32_t v) {
        u16(v & 0xffff);
        u16(v >> 16);
    };
    // version needed, flags, method (stored), time, date, CRC-32, sizes, name length, extra length
    const auto common = [&] {
        for (std::uint32_t v : {20u, 0u, 0u, 0u, 0x21u}) u16(v);
        u32(crc);
        u32(static_cast<std::uint32_t>(data.size()));
        u32(static_cast<std::uint32_t>(data.size()));
        u16(static_cast<std::uint32_t>(name.size()));
        u16(0);
    };
    u32(0x04034b50);  // local file header
    common();
    zip += name + data;
    const auto directory = static_cast<std::uint32_t>(zip.size());
    u32(0x02014b50);  // central directory header
    u16(20);          // version made by
    common();
    for (std::uint32_t v : {0u, 0u, 0u}) u16(v);  // comment length, disk, internal attributes
    u32(0);                                       // external attributes
    u32(0);                                       // offset of the local file header
    zip += name;
    const auto directory_size = static_cast<std::uint32_t>(zip.size()) - directory;
    u32(0x06054b50);  // end of central directory
    for (std::uint32_t v : {0u, 0u, 1u, 1u}) u16(v);
    u32(directory_size);
    u32(directory);
    u16(0);
    return zip;
}

}  // namespace

TEST_CASE("Directory bundles are read, streamed and sized", "[bundle]")
{
    TempDir tmp;
    const auto dir = make_bundle_dir(tmp / "b");
    auto b = Bundle::open(dir);
    INFO((b ? std::string() : b.error().message));
    REQUIRE(b);
    CHECK_FALSE(b->is_archive());
    CHECK(b->path() == dir);

    SECTION("read_text reads the manifest") {
        auto text = b->read_text("appliance.xml", 1 << 20);
        REQUIRE(text);
        CHECK(*text == kManifestText);
    }
    SECTION("read_text refuses a member larger than its cap") {
        require_refused(b->read_text("images/base.qcow2", 4096), ErrorCode::BadManifest, {"larger than 4096 bytes"});
    }
    SECTION("read_head returns the first bytes") {
        auto head = b->read_head("images/base.qcow2", 512);
        REQUIRE(head);
        CHECK(*head == pseudo_random(100000, 1).substr(0, 512));
        auto whole = b->read_head("boot/vmlinuz", 512);
        REQUIRE(whole);
        CHECK(*whole == "kernel");
    }
    SECTION("member_size and stream agree with the file") {
        auto size = b->member_size("images/base.qcow2");
        REQUIRE(size);
        CHECK(*size == 100000);
        CHECK(stream_all(*b, "images/base.qcow2") == pseudo_random(100000, 1));
    }
    SECTION("'./' and '.' components are accepted") {
        CHECK(stream_all(*b, "./boot/./vmlinuz") == "kernel");
    }
    SECTION("a sink error stops the stream and is returned") {
        int calls = 0;
        auto r = b->stream("images/base.qcow2", [&](std::span<const std::byte>) -> Result<void> {
            ++calls;
            return make_error(ErrorCode::DigestMismatch, "stop here");
        });
        require_refused(r, ErrorCode::DigestMismatch, {"stop here"});
        CHECK(calls == 1);
    }
    SECTION("member_sha256 matches openssl") {
        auto digest = b->member_sha256("images/base.qcow2");
        REQUIRE(digest);
        CHECK(*digest == openssl_sha256(dir / "images" / "base.qcow2"));
    }
    SECTION("a missing member is an Io error naming the member and the bundle") {
        require_refused(b->member_size("images/nope.qcow2"), ErrorCode::Io, {"'images/nope.qcow2'"});
        require_refused(b->read_text("images/nope.qcow2", 100), ErrorCode::Io, {dir.string()});
    }
    SECTION("a directory is not a member") {
        require_refused(b->member_size("images"), ErrorCode::Io, {"is a directory"});
    }
}

TEST_CASE("Directory bundles keep members inside the bundle", "[bundle]")
{
    TempDir tmp;
    const auto dir = make_bundle_dir(tmp / "b");
    test::write_file(tmp / "secret", "outside");
    auto b = Bundle::open(dir);
    REQUIRE(b);

    SECTION("a symlink that stays inside the bundle works") {
        fs::create_symlink("../images/base.qcow2", dir / "boot" / "link.qcow2");
        fs::create_directory_symlink("images", dir / "img");
        CHECK(stream_all(*b, "boot/link.qcow2") == pseudo_random(100000, 1));
        CHECK(stream_all(*b, "img/base.qcow2") == pseudo_random(100000, 1));
    }
    SECTION("a relative symlink leaving the bundle is refused") {
        fs::create_symlink("../../secret", dir / "images" / "escape");
        require_refused(b->member_size("images/escape"), ErrorCode::UnsafePath, {"outside the bundle"});
        fs::create_symlink("../../../../../../../../etc/passwd", dir / "passwd");
        require_refused(b->read_text("passwd", 1 << 20), ErrorCode::UnsafePath, {"'passwd'"});
    }
    SECTION("an absolute symlink is refused, even to a file inside the bundle") {
        fs::create_symlink("/etc/passwd", dir / "abs");
        require_refused(b->read_text("abs", 1 << 20), ErrorCode::UnsafePath, {"outside the bundle"});
        fs::create_symlink(dir / "appliance.xml", dir / "abs-inside");
        require_refused(b->read_text("abs-inside", 1 << 20), ErrorCode::UnsafePath, {"outside the bundle"});
    }
    SECTION("a symlinked directory leaving the bundle is refused") {
        fs::create_directory_symlink(tmp.path(), dir / "up");
        require_refused(b->read_text("up/secret", 1 << 20), ErrorCode::UnsafePath, {"outside the bundle"});
    }
    SECTION("a /proc magic link is refused") {
        fs::create_symlink("../../../../../../proc/self/root/etc/passwd", dir / "magic");
        auto r = b->read_text("magic", 1 << 20);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::UnsafePath);
    }
    SECTION("unsafe member names are refused before any file is opened") {
        require_refused(b->member_size("../secret"), ErrorCode::UnsafePath, {"'..'"});
        require_refused(b->member_size("images/../../secret"), ErrorCode::UnsafePath, {"'..'"});
        require_refused(b->member_size("images/.."), ErrorCode::UnsafePath, {"'..'"});
        require_refused(b->member_size((tmp / "secret").string()), ErrorCode::UnsafePath, {"absolute"});
        require_refused(b->member_size(""), ErrorCode::UnsafePath, {"empty"});
        require_refused(b->member_size("images//base.qcow2"), ErrorCode::UnsafePath, {"empty component"});
        require_refused(b->member_size("images/"), ErrorCode::UnsafePath, {"ends with '/'"});
        require_refused(b->member_size("images\\base.qcow2"), ErrorCode::UnsafePath, {"backslash"});
        require_refused(b->member_size("."), ErrorCode::UnsafePath, {"bundle root"});
        require_refused(b->member_size(std::string("a\0b", 3)), ErrorCode::UnsafePath, {"NUL"});
    }
    SECTION("a FIFO is refused without blocking") {
        REQUIRE(::mkfifo((dir / "fifo").c_str(), 0600) == 0);
        require_refused(b->read_text("fifo", 100), ErrorCode::UnsafePath, {"a FIFO"});
        require_refused(b->stream("fifo", [](std::span<const std::byte>) -> Result<void> { return ok(); }),
                        ErrorCode::UnsafePath, {"not a regular file"});
    }
    SECTION("a device node is refused") {
        if (::geteuid() != 0) {
            test::skip("making a device node (mknod) needs root");
        } else {
            REQUIRE(::mknod((dir / "null").c_str(), S_IFCHR | 0600, makedev(1, 3)) == 0);
            require_refused(b->member_size("null"), ErrorCode::UnsafePath, {"a character device"});
        }
    }
    SECTION("without openat2 every symlink is refused, plain files still work") {
        fs::create_symlink("../images/base.qcow2", dir / "boot" / "link.qcow2");
        fs::create_directory_symlink("images", dir / "img");
        fs::create_symlink("/etc/passwd", dir / "abs");
        detail::force_openat2_fallback(true);
        CHECK(stream_all(*b, "images/base.qcow2") == pseudo_random(100000, 1));
        auto in_link = b->member_size("boot/link.qcow2");
        auto dir_link = b->member_size("img/base.qcow2");
        auto abs = b->member_size("abs");
        auto fifo_ok = ::mkfifo((dir / "fifo").c_str(), 0600) == 0;
        auto fifo = b->member_size("fifo");
        auto missing = b->member_size("images/nope");
        detail::force_openat2_fallback(false);
        require_refused(in_link, ErrorCode::UnsafePath, {"symlink"});
        require_refused(dir_link, ErrorCode::UnsafePath, {"symlink"});
        require_refused(abs, ErrorCode::UnsafePath, {"symlink"});
        REQUIRE(fifo_ok);
        require_refused(fifo, ErrorCode::UnsafePath, {"a FIFO"});
        require_refused(missing, ErrorCode::Io, {"does not exist"});
    }
}

TEST_CASE("Bundle::open tells what is not a bundle", "[bundle]")
{
    TempDir tmp;
    SECTION("a missing path is an Io error") {
        require_refused(Bundle::open(tmp / "nope"), ErrorCode::Io, {(tmp / "nope").string()});
    }
    SECTION("a directory without appliance.xml") {
        fs::create_directory(tmp / "empty");
        require_refused(Bundle::open(tmp / "empty"), ErrorCode::BadManifest,
                        {"is not an appshare bundle: no appliance.xml at its root"});
    }
    SECTION("a directory whose appliance.xml is a directory") {
        fs::create_directories(tmp / "b" / "appliance.xml");
        require_refused(Bundle::open(tmp / "b"), ErrorCode::BadManifest, {"no appliance.xml at its root"});
    }
    SECTION("a directory whose appliance.xml escapes") {
        fs::create_directory(tmp / "b");
        fs::create_symlink("/etc/hostname", tmp / "b" / "appliance.xml");
        require_refused(Bundle::open(tmp / "b"), ErrorCode::UnsafePath, {"outside the bundle"});
    }
    SECTION("a file of random bytes") {
        test::write_file(tmp / "random.bin", pseudo_random(64 * 1024, 3));
        require_refused(Bundle::open(tmp / "random.bin"), ErrorCode::BadManifest,
                        {"is not an appshare bundle: it is neither a directory nor a tar archive"});
    }
    SECTION("an empty file") {
        test::write_file(tmp / "empty.tar", "");
        require_refused(Bundle::open(tmp / "empty.tar"), ErrorCode::BadManifest, {"is not an appshare bundle"});
    }
    SECTION("a zip archive is not accepted") {
        const auto zip = tmp / "b.zip";
        test::write_file(zip, zip_holding_manifest());
        require_refused(Bundle::open(zip), ErrorCode::BadManifest, {"neither a directory nor a tar archive"});
    }
    SECTION("a FIFO given as the bundle") {
        REQUIRE(::mkfifo((tmp / "fifo").c_str(), 0600) == 0);
        require_refused(Bundle::open(tmp / "fifo"), ErrorCode::BadManifest, {"it is a FIFO"});
    }
    SECTION("a tar archive without appliance.xml at its root hints at the fix") {
        make_bundle_dir(tmp / "src" / "demo");
        const auto tar = tmp / "nested.tar";
        test::run_ok({"tar", "-cf", tar.string(), "-C", (tmp / "src").string(), "demo"});
        require_refused(Bundle::open(tar), ErrorCode::BadManifest, {"tar -C 'demo'"});
    }
    SECTION("a truncated tar.gz is an Io error") {
        make_bundle_dir(tmp / "b", 300000);
        const auto tgz = make_tar(tmp / "b", tmp / "b.tar.gz", {"-z"});
        const std::string bytes = test::read_file(tgz);
        test::write_file(tgz, bytes.substr(0, bytes.size() / 2));
        auto r = Bundle::open(tgz);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::Io);
    }
}

TEST_CASE("Tar bundles are read and streamed without extracting", "[bundle]")
{
    TempDir tmp;
    const auto dir = make_bundle_dir(tmp / "b");
    for (const auto& [name, flags] : std::vector<std::pair<std::string, std::vector<std::string>>>{
             {"b.tar", {}}, {"b.tar.gz", {"-z"}}, {"b.tar.xz", {"-J"}}, {"b-pax.tar", {"--format=pax"}}}) {
        DYNAMIC_SECTION(name) {
            const auto tar = make_tar(dir, tmp / name, flags);
            auto b = Bundle::open(tar);
            INFO((b ? std::string() : b.error().message));
            REQUIRE(b);
            CHECK(b->is_archive());
            CHECK(b->path() == tar);
            auto text = b->read_text("appliance.xml", 1 << 20);
            REQUIRE(text);
            CHECK(*text == kManifestText);
            auto size = b->member_size("images/base.qcow2");
            REQUIRE(size);
            CHECK(*size == 100000);
            CHECK(stream_all(*b, "./images/base.qcow2") == pseudo_random(100000, 1));
            CHECK(stream_all(*b, "boot/vmlinuz") == "kernel");
            auto head = b->read_head("images/base.qcow2", 100);
            REQUIRE(head);
            CHECK(*head == pseudo_random(100, 1));
            require_refused(b->read_text("images/base.qcow2", 1000), ErrorCode::BadManifest,
                            {"larger than 1000 bytes"});
            require_refused(b->member_size("images/nope"), ErrorCode::Io, {"does not exist"});
            require_refused(b->member_size("images"), ErrorCode::Io, {"is a directory"});
            require_refused(b->member_size("../b/appliance.xml"), ErrorCode::UnsafePath, {"'..'"});
            require_refused(b->member_size("/appliance.xml"), ErrorCode::UnsafePath, {"absolute"});
        }
    }
    SECTION("members stored without './'") {
        const auto tar = tmp / "plain.tar";
        test::run_ok({"tar", "-cf", tar.string(), "-C", dir.string(), "appliance.xml", "images", "boot"});
        auto b = Bundle::open(tar);
        REQUIRE(b);
        CHECK(stream_all(*b, "./boot/vmlinuz") == "kernel");
    }
    SECTION("a sink error stops the stream and is returned") {
        auto b = Bundle::open(make_tar(dir, tmp / "b.tar"));
        REQUIRE(b);
        auto r = b->stream("appliance.xml", [](std::span<const std::byte>) -> Result<void> {
            return make_error(ErrorCode::Interrupted, "interrupted");
        });
        require_refused(r, ErrorCode::Interrupted, {"interrupted"});
    }
}

TEST_CASE("Tar bundles with unsafe entries are refused as a whole", "[bundle]")
{
    TempDir tmp;
    const auto dir = make_bundle_dir(tmp / "b");
    test::write_file(tmp / "evil", "evil");
    const auto tar = tmp / "bad.tar";

    SECTION("an entry with '..'") {
        // -P keeps the name as given; GNU tar would strip the '../' otherwise.
        test::run_ok({"tar", "-P", "-cf", tar.string(), "-C", dir.string(), "appliance.xml", "../evil"});
        REQUIRE(test::run_ok({"tar", "-P", "-tf", tar.string()}).find("../evil") != std::string::npos);
        require_refused(Bundle::open(tar), ErrorCode::UnsafePath, {"'../evil'"});
    }
    SECTION("an entry with '..' deeper in its name") {
        test::run_ok({"tar", "-P", "--transform=s,^evil$,images/../../evil,", "-cf", tar.string(), "-C",
                      dir.string(), "appliance.xml", "-C", tmp.path().string(), "evil"});
        require_refused(Bundle::open(tar), ErrorCode::UnsafePath, {"'..'"});
    }
    SECTION("an absolute entry") {
        test::run_ok({"tar", "-P", "--transform=s,^evil$,/etc/x,", "-cf", tar.string(), "-C", dir.string(),
                      "appliance.xml", "-C", tmp.path().string(), "evil"});
        REQUIRE(test::run_ok({"tar", "-P", "-tf", tar.string()}).find("/etc/x") != std::string::npos);
        require_refused(Bundle::open(tar), ErrorCode::UnsafePath, {"'/etc/x' is an absolute path"});
    }
    SECTION("a symlink entry, even one pointing inside") {
        fs::create_symlink("images/base.qcow2", dir / "link");
        make_tar(dir, tar);
        require_refused(Bundle::open(tar), ErrorCode::UnsafePath, {"is a symlink"});
        auto r = Bundle::open(tar);
        REQUIRE_FALSE(r);
        CHECK_THAT(r.error().message, Catch::Contains("only regular files and directories"));
    }
    SECTION("a hard link entry") {
        fs::create_hard_link(dir / "images" / "base.qcow2", dir / "images" / "copy.qcow2");
        make_tar(dir, tar);
        require_refused(Bundle::open(tar), ErrorCode::UnsafePath, {"is a hard link"});
    }
    SECTION("a FIFO entry") {
        REQUIRE(::mkfifo((dir / "fifo").c_str(), 0600) == 0);
        make_tar(dir, tar);
        require_refused(Bundle::open(tar), ErrorCode::UnsafePath, {"is a FIFO"});
    }
    SECTION("a device entry") {
        if (::geteuid() != 0) {
            test::skip("making a device node (mknod) needs root");
        } else {
            REQUIRE(::mknod((dir / "null").c_str(), S_IFCHR | 0600, makedev(1, 3)) == 0);
            make_tar(dir, tar);
            require_refused(Bundle::open(tar), ErrorCode::UnsafePath, {"is a character device"});
        }
    }
    SECTION("the same file twice") {
        test::run_ok({"tar", "-cf", tar.string(), "-C", dir.string(), "appliance.xml", "images/base.qcow2"});
        test::run_ok({"tar", "-rf", tar.string(), "-C", dir.string(), "./images/base.qcow2"});
        require_refused(Bundle::open(tar), ErrorCode::UnsafePath, {"'images/base.qcow2' more than once"});
    }
}

TEST_CASE("Streaming a big member gives openssl's SHA-256", "[bundle]")
{
    TempDir tmp;
    const auto dir = make_bundle_dir(tmp / "b", (std::size_t{20} << 20) + 333);
    const auto image = dir / "images" / "base.qcow2";
    const std::string expected = openssl_sha256(image);

    SECTION("directory") {
        auto b = Bundle::open(dir);
        REQUIRE(b);
        std::uint64_t progressed = 0;
        const ProgressFn progress = [&](std::uint64_t n) { progressed += n; };
        auto digest = b->member_sha256("images/base.qcow2", &progress);
        REQUIRE(digest);
        CHECK(*digest == expected);
        CHECK(progressed == fs::file_size(image));
        std::size_t max_chunk = 0;
        CHECK(stream_all(*b, "images/base.qcow2", &max_chunk).size() == fs::file_size(image));
        CHECK(max_chunk <= (std::size_t{1} << 20));
    }
    SECTION("tar.gz") {
        auto b = Bundle::open(make_tar(dir, tmp / "b.tar.gz", {"-z"}));
        REQUIRE(b);
        auto digest = b->member_sha256("images/base.qcow2");
        REQUIRE(digest);
        CHECK(*digest == expected);
    }
    SECTION("tar") {
        auto b = Bundle::open(make_tar(dir, tmp / "b.tar"));
        REQUIRE(b);
        auto digest = b->member_sha256("images/base.qcow2");
        REQUIRE(digest);
        CHECK(*digest == expected);
    }
}
