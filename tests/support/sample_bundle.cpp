#include "support/sample_bundle.hpp"

#include "support/test_support.hpp"

#include <catch2/catch.hpp>

namespace appshare::test {

std::string sample_manifest(const SampleBundle& b, const SampleOptions& o)
{
    return "<appliance format=\"1\">\n"
           "  <name>" + o.name + "</name>\n"
           "  <version>" + o.version + "</version>\n"
           "  <description>" + o.description + "</description>\n"
           "  <arch>x86_64</arch>\n"
           "  <memory unit=\"MiB\">64</memory>\n"
           "  <vcpus>1</vcpus>\n"
           "  <base>\n"
           "    <image path=\"images/base.qcow2\" format=\"qcow2\">\n"
           "      <sha256>" + b.sha256 + "</sha256>\n"
           "      <virtual-size>" + std::to_string(b.virtual_size) + "</virtual-size>\n"
           "      <size>" + std::to_string(b.image_bytes) + "</size>\n"
           "    </image>\n" + o.extra_base_xml +
           "  </base>\n"
           "  <network type=\"none\"/>\n"
           "</appliance>\n";
}

void write_manifest(const SampleBundle& b, const std::string& manifest)
{
    write_file(b.dir / "appliance.xml", manifest);
}

SampleBundle make_sample_bundle(const std::filesystem::path& dir, const SampleOptions& o)
{
    SampleBundle b;
    b.dir = dir;
    std::filesystem::create_directories(dir / "images");
    b.image = dir / "images" / "base.qcow2";
    run_ok({"qemu-img", "create", "-q", "-f", "qcow2", b.image.string(), std::to_string(o.virtual_size)});
    if (o.data_bytes > 0) {
        run_ok({"qemu-io", "-f", "qcow2", "-c", "write -P 0x61 0 " + std::to_string(o.data_bytes), b.image.string()});
    }
    b.sha256 = openssl_sha256(b.image);
    b.image_bytes = std::filesystem::file_size(b.image);
    b.virtual_size = o.virtual_size;
    write_manifest(b, sample_manifest(b, o));
    return b;
}

}  // namespace appshare::test
