#include "bundle/manifest.hpp"
#include "base/installed_files.hpp"

#include "support/result_checks.hpp"
#include "support/test_support.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

using namespace appshare;
using appshare::test::capture_stderr;

namespace {

constexpr std::uint64_t MiB = std::uint64_t{1} << 20;
constexpr std::uint64_t GiB = MiB << 10;

std::filesystem::path schema()
{
    return template_dir() / "appliance.rng";
}

std::string sample(const std::string& name)
{
    return test::read_file(test::data_dir() / "manifests" / name);
}

Result<Manifest> parse(const std::string& text, std::string_view origin = "test/appliance.xml")
{
    return parse_manifest(text, origin, schema());
}

// `text` with its one occurrence of `from` replaced by `to` (fails the test if not exactly one).
std::string replace_once(std::string text, const std::string& from, const std::string& to)
{
    const auto at = text.find(from);
    REQUIRE(at != std::string::npos);
    REQUIRE(text.find(from, at + 1) == std::string::npos);
    text.replace(at, from.size(), to);
    return text;
}

// `text` without the span from `begin` through the end of `end`.
std::string erase_span(std::string text, const std::string& begin, const std::string& end)
{
    const auto a = text.find(begin);
    REQUIRE(a != std::string::npos);
    const auto b = text.find(end, a);
    REQUIRE(b != std::string::npos);
    text.erase(a, b + end.size() - a);
    return text;
}

// The message of a failed parse, after checking it failed with `code`.
std::string failure(const Result<Manifest>& r, ErrorCode code = ErrorCode::BadManifest)
{
    const std::string message = test::require_refused(r, code);
    CHECK(message.find('\n') == std::string::npos);
    return message;
}

const std::string kImageDigest = "0123456789ABCDEF0123456789abcdef0123456789ABCDEF0123456789abcdef";

}  // namespace

TEST_CASE("parse_manifest reads valid manifests", "[manifest]")
{
    SECTION("full: every field") {
        auto r = parse(sample("full.xml"), "full.xml");
        INFO((r ? std::string{} : r.error().message));
        REQUIRE(r);
        const Manifest& m = *r;
        CHECK(m.name == "appshare-demo");
        CHECK(m.version == "1.0.0+build.7~rc1");
        CHECK(m.description == "Busybox demo appliance & friends");
        CHECK(m.arch == "x86_64");
        CHECK(m.memory_bytes == 256 * MiB);
        CHECK(m.vcpus == 2);
        CHECK(m.image.path == "images/base.qcow2");
        CHECK(m.image.format == "qcow2");
        CHECK(m.image.sha256 == "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
        CHECK(m.image.virtual_size == 4 * GiB);
        REQUIRE(m.image.file_size);
        CHECK(*m.image.file_size == 21233664U);
        REQUIRE(m.kernel);
        CHECK(m.kernel->path == "boot/vmlinuz");
        CHECK(m.kernel->sha256 == std::string(64, '1'));
        REQUIRE(m.initrd);
        CHECK(m.initrd->path == "./boot/initrd.img");
        CHECK(m.initrd->sha256 == std::string(64, 'a'));
        REQUIRE(m.cmdline);
        CHECK(*m.cmdline == "console=ttyS0 root=/dev/vda ro");
        CHECK(m.source_files == std::vector<std::string>{"/srv/appliances/demo-1.0.0.qcow2", "/mnt/shared/demo.qcow2"});
        CHECK(m.source_urls == std::vector<std::string>{"https://mirror.example.org/demo-1.0.0.qcow2",
                                                        "http://mirror2.example.org:8080/demo.qcow2"});
        CHECK(m.overlay_size == 8 * GiB);
        CHECK(m.network.type == "network");
        CHECK(m.network.name == "default");
        CHECK(m.console == "none");
    }
    SECTION("minimal: defaults filled in") {
        auto r = parse(sample("minimal.xml"), "minimal.xml");
        INFO((r ? std::string{} : r.error().message));
        REQUIRE(r);
        const Manifest& m = *r;
        CHECK(m.name == "m");
        CHECK(m.version == "1");
        CHECK(m.description.empty());
        CHECK(m.arch == "aarch64");
        CHECK(m.memory_bytes == 64 * MiB);  // default unit MiB
        CHECK(m.vcpus == 1);
        CHECK(m.image.path == "base.raw");
        CHECK(m.image.format == "raw");
        CHECK(m.image.sha256 == "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210");
        CHECK(m.image.virtual_size == MiB);  // default unit B
        CHECK_FALSE(m.image.file_size);
        CHECK_FALSE(m.kernel);
        CHECK_FALSE(m.initrd);
        CHECK_FALSE(m.cmdline);
        CHECK(m.source_files.empty());
        CHECK(m.source_urls.empty());
        CHECK(m.overlay_size == m.image.virtual_size);
        CHECK(m.network.type == "user");
        CHECK(m.network.name.empty());
        CHECK(m.console == "serial");
    }
    SECTION("surrounding whitespace in values is ignored") {
        std::string text = replace_once(sample("minimal.xml"), "<name>m</name>", "<name>\n   m  \n</name>");
        text = replace_once(text, "<memory>64</memory>", "<memory unit=\"GiB\"> 2 </memory>");
        auto r = parse(text);
        REQUIRE(r);
        CHECK(r->name == "m");
        CHECK(r->memory_bytes == 2 * GiB);
    }
    SECTION("overlay equal to the base, network none, libvirt short units") {
        std::string text = replace_once(sample("full.xml"), "<overlay-size unit=\"GiB\">8</overlay-size>",
                                        "<overlay-size unit=\"M\">4096</overlay-size>");
        text = replace_once(text, "<network type=\"network\" name=\"default\"/>", "<network type=\"none\"/>");
        auto r = parse(text);
        INFO((r ? std::string{} : r.error().message));
        REQUIRE(r);
        CHECK(r->overlay_size == 4 * GiB);
        CHECK(r->network.type == "none");
        CHECK(r->network.name.empty());
    }
}

TEST_CASE("parse_manifest names each missing required field", "[manifest]")
{
    const std::string full = sample("full.xml");
    struct Case {
        std::string field;
        std::string text;
    };
    const std::vector<Case> cases{
        {"@format", replace_once(full, " format=\"1\"", "")},
        {"name", replace_once(full, "<name>appshare-demo</name>", "")},
        {"version", replace_once(full, "<version>1.0.0+build.7~rc1</version>", "")},
        {"description", replace_once(full, "<description>Busybox demo appliance &amp; friends</description>", "")},
        {"arch", replace_once(full, "<arch>x86_64</arch>", "")},
        {"memory", replace_once(full, "<memory unit=\"MiB\">256</memory>", "")},
        {"vcpus", replace_once(full, "<vcpus>2</vcpus>", "")},
        {"base", erase_span(full, "<base>", "</base>")},
        {"base/image", erase_span(full, "<image ", "</image>")},
        {"base/image/@path", replace_once(full, " path=\"images/base.qcow2\"", "")},
        {"base/image/@format", replace_once(full, " format=\"qcow2\"", "")},
        {"base/image/sha256", replace_once(full, "<sha256>" + kImageDigest + "</sha256>", "")},
        {"base/image/virtual-size", replace_once(full, "<virtual-size unit=\"GiB\">4</virtual-size>", "")},
        {"base/boot/kernel", erase_span(full, "<kernel ", "</kernel>")},
        {"base/boot/kernel/@path", replace_once(full, " path=\"boot/vmlinuz\"", "")},
        {"base/boot/kernel/sha256", replace_once(full, "<sha256>" + std::string(64, '1') + "</sha256>", "")},
        {"base/boot/initrd/@path", replace_once(full, " path=\"./boot/initrd.img\"", "")},
        {"base/boot/initrd/sha256", replace_once(full, "<sha256>" + std::string(64, 'A') + "</sha256>", "")},
        {"base/sources/file/@path", replace_once(full, " path=\"/srv/appliances/demo-1.0.0.qcow2\"", "")},
        {"base/sources/url/@href", replace_once(full, " href=\"https://mirror.example.org/demo-1.0.0.qcow2\"", "")},
        {"network/@name", replace_once(full, " name=\"default\"", "")},
    };
    for (const auto& c : cases) {
        DYNAMIC_SECTION("missing " << c.field) {
            const std::string message = failure(parse(c.text, "bundle/appliance.xml"));
            CHECK_THAT(message, Catch::StartsWith("bundle/appliance.xml line ") &&
                                    Catch::Contains("required field " + c.field + " is missing"));
        }
    }
}

TEST_CASE("parse_manifest refuses values of the wrong type or range", "[manifest]")
{
    const std::string full = sample("full.xml");
    const std::string memory = "<memory unit=\"MiB\">256</memory>";
    struct Case {
        std::string what;
        std::string text;
        std::vector<std::string> expect;  // substrings of the message
    };
    const std::vector<Case> cases{
        {"letters in memory", replace_once(full, memory, "<memory unit=\"MiB\">25x6</memory>"),
         {"line 8", "memory", "\"25x6\"", "not a whole number"}},
        {"memory with a sign", replace_once(full, memory, "<memory>+256</memory>"), {"memory", "not a whole number"}},
        {"hex memory", replace_once(full, memory, "<memory>0x100</memory>"), {"memory", "not a whole number"}},
        {"empty memory", replace_once(full, memory, "<memory></memory>"), {"memory", "empty"}},
        {"memory below 1 MiB", replace_once(full, memory, "<memory unit=\"KiB\">1023</memory>"),
         {"memory", "minimum of 1 MiB"}},
        {"unknown unit", replace_once(full, memory, "<memory unit=\"XiB\">1</memory>"),
         {"memory", "unknown unit \"XiB\"", "MiB"}},
        {"negative vcpus", replace_once(full, "<vcpus>2</vcpus>", "<vcpus>-1</vcpus>"),
         {"line 9", "vcpus", "\"-1\"", "not a whole number"}},
        {"zero vcpus", replace_once(full, "<vcpus>2</vcpus>", "<vcpus>0</vcpus>"), {"vcpus", "out of range", "4096"}},
        {"too many vcpus", replace_once(full, "<vcpus>2</vcpus>", "<vcpus>4097</vcpus>"), {"vcpus", "out of range"}},
        {"short digest", replace_once(full, kImageDigest, std::string(63, 'a')),
         {"base/image/sha256", "63 characters", "SHA-256"}},
        {"long digest", replace_once(full, kImageDigest, std::string(65, 'a')), {"base/image/sha256", "65 characters"}},
        {"non-hex digest", replace_once(full, kImageDigest, std::string(63, 'a') + "g"),
         {"base/image/sha256", "not a SHA-256 digest"}},
        {"unknown image format", replace_once(full, "format=\"qcow2\"", "format=\"vmdk\""),
         {"base/image/@format", "\"vmdk\"", "qcow2, raw"}},
        {"unknown arch", replace_once(full, "<arch>x86_64</arch>", "<arch>m68k</arch>"), {"arch", "\"m68k\"", "x86_64"}},
        {"bad name", replace_once(full, "<name>appshare-demo</name>", "<name>-demo</name>"),
         {"name", "\"-demo\"", "not a valid appliance name"}},
        {"name with a slash", replace_once(full, "<name>appshare-demo</name>", "<name>a/b</name>"), {"name", "\"a/b\""}},
        {"name too long", replace_once(full, "<name>appshare-demo</name>", "<name>" + std::string(64, 'n') + "</name>"),
         {"name", "1-63"}},
        {"bad version", replace_once(full, "1.0.0+build.7~rc1", "1.0 beta"), {"version", "\"1.0 beta\""}},
        {"description too long",
         replace_once(full, "Busybox demo appliance &amp; friends", std::string(4097, 'd')),
         {"description", "4096"}},
        {"cmdline too long",
         replace_once(full, "console=ttyS0 root=/dev/vda ro", std::string(4097, 'c')), {"base/boot/cmdline", "4096"}},
        {"zero virtual size", replace_once(full, "<virtual-size unit=\"GiB\">4</virtual-size>",
                                           "<virtual-size>0</virtual-size>"),
         {"base/image/virtual-size", "is 0"}},
        {"zero file size", replace_once(full, "<size>21233664</size>", "<size>0</size>"), {"base/image/size", "is 0"}},
        {"letters in file size", replace_once(full, "<size>21233664</size>", "<size>20M</size>"),
         {"base/image/size", "not a whole number"}},
        {"unknown network type", replace_once(full, "type=\"network\" name=\"default\"", "type=\"bridge\""),
         {"network/@type", "\"bridge\""}},
        {"network name without type network", replace_once(full, "type=\"network\" name=\"default\"",
                                                            "type=\"user\" name=\"default\""),
         {"network/@name", "only allowed"}},
        {"unknown console", replace_once(full, "<console type=\"none\"/>", "<console type=\"vga\"/>"),
         {"console/@type", "\"vga\""}},
        {"unsupported format version", replace_once(full, "<appliance format=\"1\">", "<appliance format=\"2\">"),
         {"format", "\"2\"", "not supported"}},
        {"wrong root element", replace_once(replace_once(full, "<appliance format=\"1\">", "<domain format=\"1\">"),
                                            "</appliance>", "</domain>"),
         {"<domain>", "not an appliance manifest"}},
    };
    for (const auto& c : cases) {
        DYNAMIC_SECTION(c.what) {
            const std::string message = failure(parse(c.text, "bundle/appliance.xml"));
            CHECK_THAT(message, Catch::StartsWith("bundle/appliance.xml"));
            for (const auto& e : c.expect) CHECK_THAT(message, Catch::Contains(e));
        }
    }
}

TEST_CASE("parse_manifest refuses numbers that overflow instead of wrapping", "[manifest]")
{
    const std::string full = sample("full.xml");
    const std::string memory = "<memory unit=\"MiB\">256</memory>";
    SECTION("memory 99999999999999999999 GiB") {
        const auto message =
            failure(parse(replace_once(full, memory, "<memory unit=\"GiB\">99999999999999999999</memory>")));
        CHECK_THAT(message, Catch::Contains("memory") && Catch::Contains("overflows"));
    }
    SECTION("digits fit in 64 bits but the product does not") {
        // 2^34 GiB = 2^64 bytes, which would wrap to 0.
        const auto message = failure(parse(replace_once(full, memory, "<memory unit=\"GiB\">17179869184</memory>")));
        CHECK_THAT(message, Catch::Contains("memory") && Catch::Contains("overflows"));
    }
    SECTION("virtual size one past UINT64_MAX") {
        const auto message = failure(parse(replace_once(full, "<virtual-size unit=\"GiB\">4</virtual-size>",
                                                        "<virtual-size>18446744073709551616</virtual-size>")));
        CHECK_THAT(message, Catch::Contains("base/image/virtual-size") && Catch::Contains("overflows"));
    }
    SECTION("overlay size overflow") {
        const auto message = failure(parse(replace_once(full, "<overlay-size unit=\"GiB\">8</overlay-size>",
                                                        "<overlay-size unit=\"TB\">18446745</overlay-size>")));
        CHECK_THAT(message, Catch::Contains("context/overlay-size") && Catch::Contains("overflows"));
    }
    SECTION("vcpus far beyond unsigned") {
        const auto message = failure(parse(replace_once(full, "<vcpus>2</vcpus>", "<vcpus>4294967297</vcpus>")));
        CHECK_THAT(message, Catch::Contains("vcpus") && Catch::Contains("out of range"));
    }
}

TEST_CASE("parse_manifest refuses DTDs, XXE and entity bombs", "[manifest]")
{
    SECTION("XXE: /etc/passwd never appears in any output") {
        const std::string passwd = test::read_file("/etc/passwd");
        const std::string first_line = passwd.substr(0, passwd.find('\n'));
        REQUIRE_FALSE(first_line.empty());
        std::string message;
        const std::string err = capture_stderr([&] {
            auto r = parse(sample("xxe.xml"), "xxe.xml");
            message = failure(r);
        });
        CHECK_THAT(message, Catch::Contains("xxe.xml") && Catch::Contains("DOCTYPE"));
        CHECK(message.find(first_line) == std::string::npos);
        CHECK(message.find("root:") == std::string::npos);
        CHECK(err.find(first_line) == std::string::npos);
        CHECK(err.empty());
    }
    SECTION("a plain DTD") {
        const auto message = failure(parse(sample("dtd.xml"), "dtd.xml"));
        CHECK_THAT(message, Catch::Contains("dtd.xml") && Catch::Contains("DOCTYPE"));
    }
    SECTION("billion laughs is refused fast") {
        const auto start = std::chrono::steady_clock::now();
        auto r = parse(sample("billion-laughs.xml"), "lol.xml");
        const auto took = std::chrono::steady_clock::now() - start;
        const auto message = failure(r);
        CHECK_THAT(message, Catch::Contains("DOCTYPE"));
        CHECK(took < std::chrono::milliseconds(500));
    }
    SECTION("not well-formed XML names the line") {
        const auto message = failure(parse(sample("not-well-formed.xml"), "nwf.xml"));
        CHECK_THAT(message, Catch::StartsWith("nwf.xml line 9:") && Catch::Contains("not well-formed"));
    }
    SECTION("an undefined entity is not well-formed") {
        const auto message = failure(parse(replace_once(sample("minimal.xml"), "<description/>",
                                                        "<description>&x;</description>")));
        CHECK_THAT(message, Catch::Contains("not well-formed") && Catch::Contains("line 5"));
    }
}

TEST_CASE("parse_manifest refuses unsafe bundle paths", "[manifest]")
{
    const std::string full = sample("full.xml");
    const std::vector<std::string> bad_paths{"../x", "/etc/passwd", "a/../../b", "a//b", "", "images/", "a\\b", "."};
    struct Field {
        std::string field;
        std::string attribute;  // as written in full.xml
    };
    const std::vector<Field> fields{
        {"base/image/@path", "path=\"images/base.qcow2\""},
        {"base/boot/kernel/@path", "path=\"boot/vmlinuz\""},
        {"base/boot/initrd/@path", "path=\"./boot/initrd.img\""},
    };
    for (const auto& f : fields) {
        for (const auto& p : bad_paths) {
            DYNAMIC_SECTION(f.field << " = \"" << p << "\"") {
                const auto message = failure(parse(replace_once(full, f.attribute, "path=\"" + p + "\""), "b.xml"),
                                             ErrorCode::UnsafePath);
                CHECK_THAT(message, Catch::StartsWith("b.xml line ") && Catch::Contains(f.field));
            }
        }
    }
}

TEST_CASE("check_bundle_relative_path applies the lexical rules", "[manifest]")
{
    SECTION("accepted") {
        for (const char* p : {"images/base.qcow2", "base.qcow2", "./x", "a/./b", "a..b/..c", "...", ".hidden"}) {
            INFO(p);
            CHECK(check_bundle_relative_path(p, "o", "f"));
        }
    }
    SECTION("refused") {
        const std::vector<std::string> refused{"", "/x", "../x", "..", "a/..", "a/../../b", "a//b", "a/", ".", "a/.",
                                               "a\\b", std::string("a\0b", 3)};
        for (const auto& p : refused) {
            INFO(p);
            auto r = check_bundle_relative_path(p, "origin.xml line 4", "base/image/@path");
            REQUIRE_FALSE(r);
            CHECK(r.error().code == ErrorCode::UnsafePath);
            CHECK_THAT(r.error().message, Catch::StartsWith("origin.xml line 4: base/image/@path"));
        }
    }
}

TEST_CASE("source files must be absolute, normalised host paths", "[manifest]")
{
    const std::string full = sample("full.xml");
    const std::string attr = "path=\"/srv/appliances/demo-1.0.0.qcow2\"";
    SECTION("in a manifest") {
        for (const char* p : {"srv/x.qcow2", "/srv/../etc/shadow", "/srv//x", "/srv/./x", "/srv/x/", "/", ""}) {
            DYNAMIC_SECTION("path \"" << p << "\"") {
                const auto message =
                    failure(parse(replace_once(full, attr, std::string("path=\"") + p + "\"")), ErrorCode::UnsafePath);
                CHECK_THAT(message, Catch::Contains("base/sources/file/@path"));
            }
        }
    }
    SECTION("direct checks") {
        CHECK(check_source_file_path("/srv/appliances/x.qcow2", "o", "f"));
        CHECK(check_source_file_path("/x", "o", "f"));
        CHECK_FALSE(check_source_file_path("/a\\b", "o", "f"));
        CHECK_FALSE(check_source_file_path(std::string("/a\0b", 4), "o", "f"));
    }
}

TEST_CASE("source URLs must be http(s) without credentials", "[manifest]")
{
    const std::string full = sample("full.xml");
    const std::string attr = "href=\"https://mirror.example.org/demo-1.0.0.qcow2\"";
    SECTION("file:// is refused") {
        const auto message = failure(parse(replace_once(full, attr, "href=\"file:///etc/passwd\"")));
        CHECK_THAT(message, Catch::Contains("base/sources/url/@href") && Catch::Contains("not an http:// or https://"));
    }
    SECTION("ftp:// and scheme-less are refused") {
        CHECK_THAT(failure(parse(replace_once(full, attr, "href=\"ftp://h/x\""))), Catch::Contains("@href"));
        CHECK_THAT(failure(parse(replace_once(full, attr, "href=\"mirror.example.org/x\""))), Catch::Contains("@href"));
    }
    SECTION("credentials are refused and never repeated") {
        const auto message =
            failure(parse(replace_once(full, attr, "href=\"https://bob:s3cretpw@mirror.example.org/demo.qcow2\"")));
        CHECK_THAT(message, Catch::Contains("base/sources/url/@href") && Catch::Contains("credentials"));
        CHECK(message.find("s3cretpw") == std::string::npos);
        CHECK(message.find("bob") == std::string::npos);
    }
    SECTION("user name alone is refused too") {
        CHECK_THAT(failure(parse(replace_once(full, attr, "href=\"http://bob@h/x\""))), Catch::Contains("credentials"));
    }
    SECTION("no host, or spaces") {
        CHECK_THAT(failure(parse(replace_once(full, attr, "href=\"https:///x\""))), Catch::Contains("no host"));
        CHECK_THAT(failure(parse(replace_once(full, attr, "href=\"https://h/a b\""))), Catch::Contains("space"));
    }
    SECTION("accepted forms") {
        CHECK(check_source_url("https://h/x", "o", "f"));
        CHECK(check_source_url("HTTP://h:8080/x?y=1#z", "o", "f"));
        CHECK(check_source_url("https://h/p@q", "o", "f"));  // '@' in the path is not user information
    }
}

TEST_CASE("the overlay may not be smaller than the base", "[manifest]")
{
    const auto message = failure(parse(replace_once(sample("full.xml"), "<overlay-size unit=\"GiB\">8</overlay-size>",
                                                    "<overlay-size unit=\"GiB\">2</overlay-size>")));
    CHECK_THAT(message, Catch::Contains("context/overlay-size") && Catch::Contains("base/image/virtual-size") &&
                            Catch::Contains("smaller") && Catch::Contains("line 29"));
}

TEST_CASE("the schema catches what the field checks do not look at", "[manifest]")
{
    const std::string full = sample("full.xml");
    SECTION("an unknown element") {
        const auto message = failure(parse(replace_once(full, "<console type=\"none\"/>",
                                                        "<console type=\"none\"/>\n  <graphics/>")));
        CHECK_THAT(message, Catch::Contains("appliance/graphics") && Catch::Contains("appliance.rng"));
    }
    SECTION("an unknown attribute") {
        const auto message = failure(parse(replace_once(full, "<vcpus>2</vcpus>", "<vcpus pinned=\"yes\">2</vcpus>")));
        CHECK_THAT(message, Catch::Contains("appliance/vcpus") && Catch::Contains("line 9"));
    }
    SECTION("a duplicated element") {
        const auto message = failure(parse(replace_once(full, "<vcpus>2</vcpus>", "<vcpus>2</vcpus><vcpus>3</vcpus>")));
        CHECK_THAT(message, Catch::Contains("vcpus") && Catch::Contains("schema"));
    }
    SECTION("elements out of order") {
        std::string text = replace_once(full, "<arch>x86_64</arch>", "");
        text = replace_once(text, "<vcpus>2</vcpus>", "<vcpus>2</vcpus><arch>x86_64</arch>");
        const auto message = failure(parse(text));
        CHECK_THAT(message, Catch::Contains("schema"));
    }
    SECTION("a namespaced root") {
        const auto message = failure(parse(replace_once(full, "<appliance format=\"1\">",
                                                        "<appliance xmlns=\"urn:x\" format=\"1\">")));
        CHECK_THAT(message, Catch::Contains("namespace"));
    }
    SECTION("a missing schema is reported, not ignored") {
        auto r = parse_manifest(full, "full.xml", "/nonexistent/appliance.rng");
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::Io);
    }
}

TEST_CASE("a manifest may carry a default cloud-init user-data file", "[manifest]")
{
    const std::string digest(64, 'a');
    const auto with = [&](const std::string& element) {
        return replace_once(sample("full.xml"), "</appliance>", element + "</appliance>");
    };
    SECTION("none by default")
    {
        auto m = parse(sample("full.xml"));
        REQUIRE(m);
        CHECK_FALSE(m->user_data);
    }
    SECTION("path and digest read like the boot files'")
    {
        auto m = parse(with("  <cloud-init><user-data path=\"cloud-init/user-data\"><sha256>" + digest +
                            "</sha256></user-data></cloud-init>\n"));
        REQUIRE(m);
        REQUIRE(m->user_data);
        CHECK(m->user_data->path == "cloud-init/user-data");
        CHECK(m->user_data->sha256 == digest);
    }
    SECTION("a path leaving the bundle or a missing digest is refused; an empty <cloud-init/> names none")
    {
        const auto m1 = parse(with("  <cloud-init><user-data path=\"../x\"><sha256>" + digest +
                                   "</sha256></user-data></cloud-init>\n"));
        test::require_refused(m1, ErrorCode::UnsafePath, {"cloud-init/user-data/@path"});
        CHECK_FALSE(parse(with("  <cloud-init><user-data path=\"u\"/></cloud-init>\n")));
        auto empty = parse(with("  <cloud-init/>\n"));
        REQUIRE(empty);
        CHECK_FALSE(empty->user_data);
    }
}
