#include "instance/instance_metadata.hpp"

#include <catch2/catch.hpp>

#include <string>

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
    }
}
