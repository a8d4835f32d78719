#include "bundle/ovf_envelope.hpp"

#include "support/ova_package.hpp"

#include <catch2/catch.hpp>

using namespace appshare;

TEST_CASE("parse_ovf_envelope maps one virtual system and its disk", "[ovf_envelope]")
{
    test::OvfOptions o;
    o.memory_mib = 2048;
    auto a = parse_ovf_envelope(test::ovf_envelope(o), "vm.ovf");
    REQUIRE(a.has_value());
    CHECK(a->name == "imported-vm");
    CHECK(a->version == "3.1");
    CHECK(a->description == "Imported test appliance");
    CHECK(a->memory_bytes == std::uint64_t{2048} << 20);
    CHECK(a->vcpus == 2);
    CHECK(a->disk.href == "disk1.vmdk");
    CHECK(a->disk.format == "vmdk");
    CHECK(a->warnings.empty());
}

TEST_CASE("parse_ovf_envelope refuses what it cannot carry and DTDs", "[ovf_envelope]")
{
    test::OvfOptions o;
    SECTION("a DTD") {
        o.before_envelope = "<!DOCTYPE Envelope [<!ENTITY a \"aaaa\">]>\n";
        auto a = parse_ovf_envelope(test::ovf_envelope(o), "vm.ovf");
        REQUIRE(!a.has_value());
        CHECK(a.error().code == ErrorCode::BadManifest);
    }
    SECTION("two disks") {
        o.extra_hardware = "<Item><rasd:ResourceType>17</rasd:ResourceType><rasd:HostResource>ovf:/disk/b</rasd:HostResource></Item>";
        auto a = parse_ovf_envelope(test::ovf_envelope(o), "vm.ovf");
        REQUIRE(!a.has_value());
        CHECK(a.error().code == ErrorCode::Usage);
    }
    SECTION("an unknown memory unit") {
        auto text = test::ovf_envelope(o);
        text.replace(text.find("byte * 2^20"), 11, "furlongs");
        auto a = parse_ovf_envelope(text, "vm.ovf");
        REQUIRE(!a.has_value());
        CHECK(a.error().code == ErrorCode::BadManifest);
    }
}

TEST_CASE("parse_ovf_digests reads SHA256 and SHA1 lines and refuses anything else", "[ovf_envelope]")
{
    auto d = parse_ovf_digests("SHA256(vm.ovf)= " + std::string(64, 'A') + "\nSHA1(disk1.vmdk)= " + std::string(40, 'b') + "\n\n",
                               "vm.mf");
    REQUIRE(d.has_value());
    REQUIRE(d->size() == 2);
    CHECK((*d)[0].algorithm == "SHA256");
    CHECK((*d)[0].hex == std::string(64, 'a'));
    CHECK((*d)[1].file == "disk1.vmdk");
    CHECK(!parse_ovf_digests("MD5(x)= 00\n", "vm.mf").has_value());
    CHECK(!parse_ovf_digests("SHA1(x)= " + std::string(64, '0') + "\n", "vm.mf").has_value());
    CHECK(!parse_ovf_digests(std::string(100000, '('), "vm.mf").has_value());
}
