// `appshare verify` as a user runs it: the built command, real bundles, exit statuses and the
// one-sentence message on stderr.
#include "support/cli_run.hpp"
#include "support/sample_bundle.hpp"
#include "support/test_support.hpp"

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <regex>

using namespace appshare::test;

namespace {

CliResult verify(const std::vector<std::string>& args) { return run_cli("verify", args); }

void require_one_sentence(const CliResult& r, int status, const std::string& needle)
{
    INFO("stderr: " << r.err);
    CHECK(r.status == status);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK_THAT(r.err, Catch::StartsWith("appshare: ") && Catch::Contains(needle));
}

std::string replace(std::string s, const std::string& from, const std::string& to)
{
    const auto pos = s.find(from);
    REQUIRE(pos != std::string::npos);
    return s.replace(pos, from.size(), to);
}

}  // namespace

TEST_CASE("appshare verify accepts a good bundle and prints its summary", "[cli][verify]")
{
    TempDir dir;
    SampleOptions opts;
    opts.description = "R&amp;D appliance";
    const auto b = make_sample_bundle(dir / "bundle", opts);

    SECTION("text summary") {
        const auto r = verify({b.dir.string()});
        INFO(r.err);
        REQUIRE(r.status == 0);
        CHECK(r.err.empty());
        CHECK_THAT(r.out, Catch::Contains("sample 1.0") && Catch::Contains(b.sha256) && Catch::Contains("R&D appliance") &&
                              Catch::Contains("qcow2 v3") && Catch::Contains("is valid"));
    }
    SECTION("JSON summary") {
        const auto r = verify({"--json", b.dir.string()});
        REQUIRE(r.status == 0);
        const auto j = nlohmann::json::parse(r.out);
        CHECK(j["name"] == "sample");
        CHECK(j["base"]["sha256"] == b.sha256);
        CHECK(j["base"]["virtual_size"] == b.virtual_size);
        CHECK(j["base"]["digest_checked"] == true);
        CHECK(j["valid"] == true);
    }
    SECTION("the same bundle as a tar archive") {
        run_ok({"tar", "-C", b.dir.string(), "-cf", (dir / "bundle.tar").string(), "."});
        const auto r = verify({(dir / "bundle.tar").string()});
        INFO(r.err);
        CHECK(r.status == 0);
        CHECK_THAT(r.out, Catch::Contains(b.sha256));
    }
}

TEST_CASE("appshare verify rejects bad bundles with one sentence and a distinct exit status", "[cli][verify]")
{
    TempDir dir;
    const auto b = make_sample_bundle(dir / "bundle");
    const auto manifest = sample_manifest(b);

    SECTION("not a bundle") {
        write_file(dir / "junk", "not a bundle at all");
        require_one_sentence(verify({(dir / "junk").string()}), 3, "junk");
    }
    SECTION("no manifest") {
        std::filesystem::remove(b.dir / "appliance.xml");
        require_one_sentence(verify({b.dir.string()}), 3, "appliance.xml");
    }
    SECTION("a required field missing") {
        write_manifest(b, replace(manifest, "<vcpus>1</vcpus>", ""));
        require_one_sentence(verify({b.dir.string()}), 3, "vcpus");
    }
    SECTION("an XXE attempt") {
        write_manifest(b, "<!DOCTYPE a [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\n" +
                              replace(manifest, "sample appliance", "&x;"));
        const auto r = verify({b.dir.string()});
        require_one_sentence(r, 3, "DTD");
        CHECK_THAT(r.out + r.err, !Catch::Contains("root:x:0"));
    }
    SECTION("path traversal in the manifest") {
        write_manifest(b, replace(manifest, "images/base.qcow2", "../bundle/images/base.qcow2"));
        require_one_sentence(verify({b.dir.string()}), 4, "..");
    }
    SECTION("a symlink escaping the bundle") {
        std::filesystem::remove(b.image);
        std::filesystem::create_symlink(dir / "outside.qcow2", b.image);
        run_ok({"qemu-img", "create", "-q", "-f", "qcow2", (dir / "outside.qcow2").string(), "64M"});
        require_one_sentence(verify({b.dir.string()}), 4, "base.qcow2");
    }
    SECTION("a tar with a ../ entry") {
        run_ok({"tar", "-C", b.dir.string(), "-cf", (dir / "evil.tar").string(), "."});
        write_file(dir / "evil", "x");
        run_ok({"tar", "-P", "-rf", (dir / "evil.tar").string(), "--transform", "s,^.*evil$,../evil,", (dir / "evil").string()});
        require_one_sentence(verify({(dir / "evil.tar").string()}), 4, "..");
    }
    SECTION("digest mismatch") {
        write_manifest(b, replace(manifest, b.sha256, std::string(64, '0')));
        require_one_sentence(verify({b.dir.string()}), 5, "SHA-256");
    }
    SECTION("base with its own backing file") {
        run_ok({"qemu-img", "create", "-q", "-f", "qcow2", (dir / "parent.qcow2").string(), "64M"});
        std::filesystem::remove(b.image);
        run_ok({"qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", (dir / "parent.qcow2").string(),
                b.image.string(), "64M"});
        write_manifest(b, replace(replace(manifest, b.sha256, openssl_sha256(b.image)),
                                  "<size>" + std::to_string(b.image_bytes) + "</size>", ""));
        require_one_sentence(verify({b.dir.string()}), 6, "backing file");
    }
    SECTION("format that does not match the manifest") {
        write_manifest(b, replace(manifest, "format=\"qcow2\"", "format=\"raw\""));
        require_one_sentence(verify({b.dir.string()}), 6, "qcow2");
    }
    SECTION("image missing") {
        std::filesystem::remove(b.image);
        require_one_sentence(verify({b.dir.string()}), 7, "base.qcow2");
    }
    SECTION("usage error") {
        const auto r = verify({});
        CHECK(r.status == 2);
    }
}
