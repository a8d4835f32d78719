#include "instance/domain_xml.hpp"

#include "instance/instance_metadata.hpp"
#include "base/installed_files.hpp"
#include "xml/xml_document.hpp"

#include "support/test_support.hpp"

#include <catch2/catch.hpp>

using namespace appshare;

namespace {

DomainSpec sample_spec()
{
    DomainSpec s;
    s.name = "web-1";
    s.uuid = random_uuid();
    s.title = "demo 1.0";
    s.description = "plain";
    s.memory_bytes = 256ULL << 20;
    s.vcpus = 2;
    s.virt_type = "qemu";
    s.disk = "/var/lib/libvirt/images/appshare/contexts/web-1/disk.qcow2";
    s.smbios_serial = nocloud_serial("web-1", s.uuid);
    s.product = "demo";
    s.product_version = "1.0";
    s.metadata.appliance_name = "demo";
    s.metadata.appliance_version = "1.0";
    s.metadata.base = StoredFile{std::string(64, 'a'), 1234, "qcow2", "/shared/" + std::string(64, 'a') + ".qcow2", {}};
    s.metadata.context_dir = "/ctx/web-1";
    s.metadata.overlay = "/ctx/web-1/disk.qcow2";
    s.metadata.tool_version = "0.1.0";
    s.metadata.installed_at = "2026-11-25T10:00:00Z";
    return s;
}

std::string render(const DomainSpec& s)
{
    auto xml = render_domain_xml(s, template_dir() / "domain.xml");
    INFO((xml ? std::string() : xml.error().message));
    REQUIRE(xml);
    return *xml;
}

// What libvirt's own schema (virt-xml-validate, /usr/share/libvirt/schemas/domain.rng) says of
// the rendered XML: libvirtd does not validate what appshare defines, as `virsh define` does not.
void require_libvirt_schema_accepts(const std::string& xml)
{
    test::TempDir dir;
    const auto file = dir / "domain.xml";
    test::write_file(file, xml);
    const auto r = test::run({"virt-xml-validate", file.string(), "domain"});
    INFO(xml << "\nvirt-xml-validate said: " << r.output);
    REQUIRE(r.status == 0);
}

std::string text_at(const XmlDocument& doc, const char* element)
{
    return xml_text(first_child_element(doc.root(), element));
}

}  // namespace

TEST_CASE("domain XML rendering fills the template", "[domain_xml]")
{
    auto spec = sample_spec();

    SECTION("names, sizes, identity, disk and metadata") {
        const auto xml = render(spec);
        auto doc = parse_xml(xml, "rendered");
        REQUIRE(doc);
        CHECK(xml_attribute(doc->root(), "type") == "qemu");
        CHECK(text_at(*doc, "name") == "web-1");
        CHECK(text_at(*doc, "uuid") == spec.uuid);
        CHECK(text_at(*doc, "memory") == "262144");
        CHECK(text_at(*doc, "vcpu") == "2");
        CHECK_THAT(xml, Catch::Contains("ds=nocloud;h=web-1;i=" + spec.uuid));
        CHECK_THAT(xml, Catch::Contains("/var/lib/libvirt/images/appshare/contexts/web-1/disk.qcow2"));
        CHECK_THAT(xml, Catch::Contains("<boot dev=\"hd\"/>"));
        auto meta = read_instance_metadata(xml, "rendered");
        REQUIRE(meta);
        REQUIRE(meta->has_value());
        CHECK((*meta)->appliance_name == "demo");
        CHECK((*meta)->base.sha256 == std::string(64, 'a'));
        CHECK((*meta)->overlay == "/ctx/web-1/disk.qcow2");
    }
    SECTION("markup characters, quotes and non-ASCII are escaped and survive a round trip") {
        spec.title = "R&D <appliance> \"quoted\" 'single'";
        spec.description = "Zürich → 東京 & <b>bold</b> ]]> &amp;";
        spec.metadata.appliance_name = "a&b<c>\"d\"";
        const auto xml = render(spec);
        auto doc = parse_xml(xml, "rendered");
        REQUIRE(doc);
        CHECK(text_at(*doc, "title") == spec.title);
        CHECK(text_at(*doc, "description") == spec.description);
        CHECK(first_child_element(doc->root(), "description")->children->next == nullptr);  // one text node, no elements
        auto meta = read_instance_metadata(xml, "rendered");
        REQUIRE(meta);
        REQUIRE(meta->has_value());
        CHECK((*meta)->appliance_name == spec.metadata.appliance_name);
    }
    SECTION("direct kernel boot") {
        spec.kernel = "/ctx/web-1/vmlinuz";
        spec.initrd = "/ctx/web-1/initrd.img";
        spec.cmdline = "console=ttyS0 root=/dev/vda";
        const auto xml = render(spec);
        CHECK_THAT(xml, Catch::Contains("<kernel>/ctx/web-1/vmlinuz</kernel>") &&
                            Catch::Contains("<initrd>/ctx/web-1/initrd.img</initrd>") &&
                            Catch::Contains("<cmdline>console=ttyS0 root=/dev/vda</cmdline>"));
        CHECK_THAT(xml, !Catch::Contains("<boot dev"));
    }
    SECTION("network and console choices") {
        spec.network_type = "none";
        spec.console = "none";
        auto xml = render(spec);
        CHECK_THAT(xml, !Catch::Contains("<interface") && !Catch::Contains("<serial") && !Catch::Contains("<console"));
        spec.network_type = "network";
        spec.network_name = "default";
        xml = render(spec);
        CHECK_THAT(xml, Catch::Contains("<interface type=\"network\">") && Catch::Contains("network=\"default\""));
    }
    SECTION("serial console log") {
        spec.serial_log = "/var/log/libvirt/qemu/web-1-serial.log";
        CHECK_THAT(render(spec), Catch::Contains("<log file=\"/var/log/libvirt/qemu/web-1-serial.log\""));
        spec.serial_log.clear();
        CHECK_THAT(render(spec), !Catch::Contains("<log "));
    }
    SECTION("the overlay's backing chain: the base link, never relabelled, and nothing below") {
        spec.backing = "/var/lib/libvirt/images/appshare/contexts/web-1/base";
        spec.backing_format = "raw";
        const auto xml = render(spec);
        auto doc = parse_xml(xml, "rendered");
        REQUIRE(doc);
        xmlNode* disk = first_child_element(first_child_element(doc->root(), "devices"), "disk");
        REQUIRE(disk != nullptr);
        CHECK(xml_attribute(first_child_element(disk, "source"), "file") == spec.disk.string());
        const auto chain = child_elements(disk, "backingStore");
        REQUIRE(chain.size() == 1);
        CHECK(xml_attribute(chain[0], "type") == "file");
        CHECK(xml_attribute(first_child_element(chain[0], "format"), "type") == "raw");
        xmlNode* source = first_child_element(chain[0], "source");
        REQUIRE(source != nullptr);
        CHECK(xml_attribute(source, "file") == spec.backing.string());
        const auto labels = child_elements(source, "seclabel");
        REQUIRE(labels.size() == 1);
        CHECK(xml_attribute(labels[0], "model") == "dac");
        CHECK(xml_attribute(labels[0], "relabel") == "no");
        // The chain ends there: an empty <backingStore/> tells libvirt not to probe further.
        const auto end = child_elements(chain[0], "backingStore");
        REQUIRE(end.size() == 1);
        CHECK(end[0]->children == nullptr);
        CHECK_FALSE(xml_attribute(end[0], "type").has_value());
    }
    SECTION("no backing file: no backingStore") {
        CHECK_THAT(render(spec), !Catch::Contains("backingStore"));
    }
    SECTION("kvm") {
        spec.virt_type = "kvm";
        CHECK_THAT(render(spec), Catch::Contains("<domain type=\"kvm\""));
    }
}

TEST_CASE("the title leads with the instance, so instances of one appliance differ", "[domain_xml]")
{
    CHECK(instance_title("web1", "vm-app", "1.0") == "web1 \u2014 vm-app 1.0");
    CHECK(instance_title("web1", "vm-app", "1.0") != instance_title("web2", "vm-app", "1.0"));
    const auto d = instance_description("  A web server.\n", "web1", "vm-app", "1.0", "/ctx/web1", std::string(64, 'a'));
    CHECK(d == "A web server.\n\nappshare instance web1 of vm-app 1.0; its context is /ctx/web1, over the shared base "
               "aaaaaaaaaaaa; see 'appshare list'.");
    CHECK_THAT(instance_description("", "web1", "vm-app", "1.0", "/ctx/web1", "abc"),
               Catch::StartsWith("appshare instance web1 of vm-app 1.0;"));
}

TEST_CASE("the domain's UUID is read from its XML", "[domain_xml]")
{
    CHECK(domain_uuid_of("<domain><name>a</name><uuid> 0B6F5CBB-7D0B-4C3E-9B35-6A0F1F2D3E4A </uuid></domain>") ==
          "0b6f5cbb-7d0b-4c3e-9b35-6a0f1f2d3e4a");
    CHECK(domain_uuid_of("<domain><name>a</name></domain>").empty());
    CHECK(domain_uuid_of("<domain><uuid>../x</uuid></domain>").empty());
    CHECK(domain_uuid_of("<dom").empty());
}

TEST_CASE("every form of the rendered domain XML is valid against libvirt's schema", "[domain_xml]")
{
    // install defines without VIR_DOMAIN_DEFINE_VALIDATE (libvirtd compiles its schema at every
    // such call, about 10 ms): this is where the template and the renderer are held to it.
    auto spec = sample_spec();
    spec.backing = "/ctx/web-1/base";
    spec.serial_log = "/var/log/libvirt/qemu/web-1-serial.log";

    SECTION("as install makes it: user network, serial console with its log, backing chain") {
        require_libvirt_schema_accepts(render(spec));
    }
    SECTION("direct kernel boot with a command line, a cloud-init seed, a raw base, KVM") {
        spec.kernel = "/ctx/web-1/vmlinuz";
        spec.initrd = "/ctx/web-1/initrd.img";
        spec.cmdline = "console=ttyS0 root=/dev/vda quiet";
        spec.seed_iso = "/ctx/web-1/seed.iso";
        spec.backing_format = "raw";
        spec.virt_type = "kvm";
        require_libvirt_schema_accepts(render(spec));
    }
    SECTION("a libvirt network, no console, no backing file") {
        spec.network_type = "network";
        spec.network_name = "default";
        spec.console = "none";
        spec.serial_log.clear();
        spec.backing.clear();
        require_libvirt_schema_accepts(render(spec));
    }
    SECTION("no network") {
        spec.network_type = "none";
        require_libvirt_schema_accepts(render(spec));
    }
    SECTION("markup, quotes and non-ASCII in every text a bundle or the command line fills in") {
        spec.title = "R&D <appliance> \"quoted\" 'single' Zürich";
        spec.description = "line one\nline two & <b>bold</b> ]]> 東京";
        spec.product = "a&b<c>\"d\"";
        spec.product_version = "1.0 <beta> & 'rc'";
        spec.cmdline = "console=ttyS0 x=\"<&>\"";
        spec.kernel = "/ctx/web-1/vmlinuz";
        spec.metadata.appliance_name = spec.product;
        spec.metadata.appliance_version = spec.product_version;
        require_libvirt_schema_accepts(render(spec));
    }
}
