#include "instance/instance_metadata.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <utility>
#include <vector>

using namespace appshare;

TEST_CASE("instance metadata from a domain XML", "[metadata]")
{
    SECTION("a domain without appshare metadata is not ours") {
        auto m = read_instance_metadata("<domain type='qemu'><name>x</name></domain>", "stdin");
        REQUIRE(m);
        CHECK_FALSE(m->has_value());
        m = read_instance_metadata("<domain><metadata><other xmlns='urn:x'/></metadata></domain>", "stdin");
        REQUIRE(m);
        CHECK_FALSE(m->has_value());
    }
    SECTION("malformed appshare metadata is an error naming what is wrong") {
        const std::string ns = "xmlns:a='urn:appshare:domain:1'";
        auto m = read_instance_metadata("<domain><metadata><a:instance " + ns +
                                            "><a:appliance name='x'/></a:instance></metadata></domain>",
                                        "stdin");
        REQUIRE_FALSE(m);
        CHECK_THAT(m.error().message, Catch::Contains("<base>"));
        m = read_instance_metadata("<domain><metadata><a:instance " + ns +
                                       "><a:appliance name='x'/><a:base sha256='zz' size='1' format='qcow2' path='/x'/>"
                                       "</a:instance></metadata></domain>",
                                   "stdin");
        REQUIRE_FALSE(m);
        CHECK_THAT(m.error().message, Catch::Contains("digest"));
        m = read_instance_metadata("<domain><metadata><a:instance " + ns + "><a:appliance name='x'/><a:base sha256='" +
                                       std::string(64, 'b') + "' size='1' format='qcow2' path='../x'/>"
                                       "</a:instance></metadata></domain>",
                                   "stdin");
        REQUIRE_FALSE(m);
        CHECK_THAT(m.error().message, Catch::Contains("../x"));
    }
    SECTION("what the metadata gives is shown escaped") {
        // Found by fuzzing (tests/fuzz/fuzz_hook_metadata.cpp): attribute values (which may hold
        // new lines and tabs as character references) were copied raw into the message the hook
        // logs, so whoever defines a domain could forge log lines.
        const std::string ns = "xmlns:a='urn:appshare:domain:1'";
        const std::string base = "<a:appliance name='x'/><a:base sha256='" + std::string(64, 'b') + "' size='1' ";
        for (const auto& [attrs, escaped] : std::vector<std::pair<std::string, std::string>>{
                 {"format='qcow2' path='rel&#10;appshare-hook[1]: forged'", "'rel\\x0aappshare-hook[1]: forged'"},
                 {"format='q&#9;&#13;' path='/x'", "'q\\x09\\x0d'"},
             }) {
            auto m = read_instance_metadata("<domain><metadata><a:instance " + ns + ">" + base + attrs +
                                                "/></a:instance></metadata></domain>",
                                            "stdin");
            INFO(attrs);
            REQUIRE_FALSE(m);
            CHECK_THAT(m.error().message, Catch::Contains(escaped));
            CHECK(m.error().message.find_first_of("\n\t\r") == std::string::npos);
        }
    }
    SECTION("metadata element text round-trips") {
        InstanceMetadata meta;
        meta.appliance_name = "n";
        meta.base = StoredFile{std::string(64, 'c'), 9, "raw", "/s/b.raw", {}};
        meta.kernel = StoredFile{std::string(64, 'd'), 7, "", "/s/k", "/ctx/n/vmlinuz"};
        meta.source_files = {"/srv/a.raw"};
        meta.source_urls = {"http://127.0.0.1/a.raw"};
        meta.context_dir = "/ctx/n";
        meta.overlay = "/ctx/n/disk.qcow2";
        const auto text = instance_metadata_xml(meta);
        auto m = read_instance_metadata("<domain><metadata>" + text + "</metadata></domain>", "t");
        REQUIRE(m);
        REQUIRE(m->has_value());
        CHECK((*m)->base.format == "raw");
        REQUIRE((*m)->kernel.has_value());
        CHECK((*m)->kernel->link == "/ctx/n/vmlinuz");
        CHECK((*m)->source_files == meta.source_files);
        CHECK((*m)->source_urls == meta.source_urls);
        CHECK((*m)->overlay_size == 0);  // not recorded: the base's size
        CHECK(text.find("size=\"0\"") == std::string::npos);

        meta.overlay_size = 20ULL << 30;
        m = read_instance_metadata("<domain><metadata>" + instance_metadata_xml(meta) + "</metadata></domain>", "t");
        REQUIRE(m);
        REQUIRE(m->has_value());
        CHECK((*m)->overlay_size == 20ULL << 30);
    }
    SECTION("an overlay size that is no number of bytes, or absurd, is refused") {
        for (const char* size : {"", "-1", "1e9", "12 ", "1125899906842625", "99999999999999999999999"}) {
            INFO(size);
            const std::string xml = std::string("<domain><metadata><appshare:instance xmlns:appshare='urn:appshare:domain:1' format='1'>") +
                                    "<appshare:appliance name='n'/><appshare:base sha256='" + std::string(64, 'c') +
                                    "' size='9' format='raw' path='/s/b.raw'/><appshare:context dir='/ctx/n' overlay='/ctx/n/disk.qcow2' size='" +
                                    size + "'/></appshare:instance></metadata></domain>";
            auto m = read_instance_metadata(xml, "t");
            REQUIRE_FALSE(m);
            CHECK_THAT(m.error().message, Catch::Contains("<context>"));
        }
    }
}
