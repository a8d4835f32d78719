// `appshare import` as a user runs it, with OVF packages made here (support/ova_package.hpp):
// an OVA with and without .mf, an .ovf beside its disk, and the refusals — a bad digest, a '../'
// entry, a DTD, several disks, a VMDK descriptor naming another file.
#include "support/cli_run.hpp"
#include "support/ova_package.hpp"
#include "support/test_support.hpp"

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

using namespace appshare::test;

namespace {

struct Source {
    TempDir dir;
    std::filesystem::path raw = dir / "source.raw";
    Source()
    {
        run_ok({"qemu-img", "create", "-q", "-f", "raw", raw.string(), "16M"});
        run_ok({"qemu-io", "-f", "raw", "-c", "write -P 0x6b 2M 64k", raw.string()});
    }
};

void require_refused(const CliResult& r, int status, const std::string& needle, const std::filesystem::path& out)
{
    INFO("stderr: " << r.err);
    CHECK(r.status == status);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK_THAT(r.err, Catch::StartsWith("appshare: ") && Catch::Contains(needle));
    CHECK(!std::filesystem::exists(out));
    for (const auto& e : std::filesystem::directory_iterator(out.parent_path())) {
        CHECK_THAT(e.path().filename().string(), !Catch::Contains(".part"));
    }
}

}  // namespace

TEST_CASE("appshare import makes a verified bundle from an OVA", "[cli][import]")
{
    Source s;
    const auto pkg = s.dir / "pkg";
    const auto out = s.dir / "out";
    SECTION("with a .mf: digests checked, settings mapped, the disk converted") {
        const auto ova = make_ova(pkg, write_ovf_folder(pkg, s.raw, "raw", {}, true), s.dir / "vm.ova");
        const auto r = run_cli("import", {ova.string(), "-o", out.string(), "--json"});
        INFO(r.err);
        REQUIRE(r.status == 0);
        const auto j = nlohmann::json::parse(r.out);
        CHECK(j["name"] == "imported-vm");
        CHECK(j["version"] == "3.1");
        CHECK(j["description"] == "Imported test appliance");
        CHECK(j["memory_bytes"] == 256 * 1024 * 1024);
        CHECK(j["vcpus"] == 2);
        CHECK(j["package_digest_checked"] == true);
        CHECK(j["base"]["virtual_size"] == 16 * 1024 * 1024);
        CHECK_THAT(run({"qemu-io", "-f", "qcow2", "-c", "read -P 0x6b 2M 64k", (out / "images/base.qcow2").string()}).output,
                   !Catch::Contains("Pattern verification failed"));
        CHECK(run_cli("verify", {out.string()}).status == 0);
    }
    SECTION("without a .mf, said so; an .ovf beside its disk; name and version given") {
        write_ovf_folder(pkg, s.raw, "raw", {}, false);
        const auto r = run_cli("import", {(pkg / "vm.ovf").string(), "-o", out.string(), "--name", "mine", "--version", "9"});
        INFO(r.err);
        REQUIRE(r.status == 0);
        CHECK_THAT(r.err, Catch::Contains("no .mf digest"));
        CHECK_THAT(r.out, Catch::Contains("mine 9"));
    }
    SECTION("what is not imported is listed") {
        OvfOptions o;
        o.extra_hardware = "<Item><rasd:ElementName>eth0</rasd:ElementName><rasd:InstanceID>4</rasd:InstanceID><rasd:ResourceType>10</rasd:ResourceType></Item>\n";
        const auto ova = make_ova(pkg, write_ovf_folder(pkg, s.raw, "raw", o, true), s.dir / "vm.ova");
        const auto r = run_cli("import", {ova.string(), "-o", (s.dir / "out.tar.xz").string()});
        INFO(r.err);
        REQUIRE(r.status == 0);
        CHECK_THAT(r.err, Catch::Contains("network adapter") && Catch::Contains("eth0"));
    }
}

TEST_CASE("appshare import refuses bad packages with one sentence and leaves nothing", "[cli][import]")
{
    Source s;
    const auto pkg = s.dir / "pkg";
    const auto out = s.dir / "out";
    SECTION("a .mf digest that does not match") {
        auto files = write_ovf_folder(pkg, s.raw, "raw", {}, true);
        write_file(pkg / "vm.mf", "SHA256(vm.ovf)= " + openssl_sha256(pkg / "vm.ovf") + "\nSHA1(disk1.vmdk)= " +
                                      std::string(40, '0') + "\n");
        require_refused(run_cli("import", {make_ova(pkg, files, s.dir / "vm.ova").string(), "-o", out.string()}), 5,
                        "disk1.vmdk", out);
    }
    SECTION("a ../ entry in the archive") {
        const auto ova = make_ova(pkg, write_ovf_folder(pkg, s.raw, "raw", {}, false), s.dir / "vm.ova");
        write_file(s.dir / "evil", "x");
        run_ok({"tar", "-P", "-rf", ova.string(), "--transform", "s,^.*evil$,../evil,", (s.dir / "evil").string()});
        require_refused(run_cli("import", {ova.string(), "-o", out.string()}), 4, "..", out);
    }
    SECTION("an href that leaves the package") {
        OvfOptions o;
        o.disk_href = "../source.raw";
        write_ovf_folder(pkg, s.raw, "raw", o, false);
        require_refused(run_cli("import", {(pkg / "vm.ovf").string(), "-o", out.string()}), 4, "..", out);
    }
    SECTION("a DTD with an entity") {
        OvfOptions o;
        o.before_envelope = "<!DOCTYPE Envelope [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\n";
        o.system_id = "&x;";
        const auto ova = make_ova(pkg, write_ovf_folder(pkg, s.raw, "raw", o, false), s.dir / "vm.ova");
        const auto r = run_cli("import", {ova.string(), "-o", out.string()});
        require_refused(r, 3, "DTD", out);
        CHECK_THAT(r.out + r.err, !Catch::Contains("root:x:0"));
    }
    SECTION("several disks") {
        OvfOptions o;
        o.extra_hardware = "<Item><rasd:HostResource>ovf:/disk/vmdisk2</rasd:HostResource><rasd:InstanceID>5</rasd:InstanceID><rasd:ResourceType>17</rasd:ResourceType></Item>\n";
        const auto ova = make_ova(pkg, write_ovf_folder(pkg, s.raw, "raw", o, false), s.dir / "vm.ova");
        require_refused(run_cli("import", {ova.string(), "-o", out.string()}), 2, "2 disks", out);
    }
    SECTION("a VMDK descriptor that names another file") {
        auto files = write_ovf_folder(pkg, s.raw, "raw", {}, false);
        write_file(pkg / "disk1.vmdk", "# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\n"
                                       "createType=\"monolithicFlat\"\nRW 32768 FLAT \"/etc/passwd\" 0\n");
        require_refused(run_cli("import", {make_ova(pkg, files, s.dir / "vm.ova").string(), "-o", out.string()}), 6,
                        "self-contained", out);
    }
}
