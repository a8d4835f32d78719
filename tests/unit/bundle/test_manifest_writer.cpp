#include "bundle/manifest_writer.hpp"
#include "base/installed_files.hpp"

#include "support/test_support.hpp"

#include <catch2/catch.hpp>

using namespace appshare;

namespace {

Manifest full_manifest()
{
    Manifest m;
    m.name = "web";
    m.version = "1.2~rc1";
    m.description = "R&D <appliance> \"quoted\"";
    m.arch = "x86_64";
    m.memory_bytes = std::uint64_t{768} << 20;
    m.vcpus = 2;
    m.image = {"images/base.qcow2", "qcow2", std::string(64, 'a'), std::uint64_t{1} << 30, 4096};
    m.kernel = ManifestFile{"boot/vmlinuz", std::string(64, 'b')};
    m.initrd = ManifestFile{"boot/initrd.img", std::string(64, 'c')};
    m.cmdline = "console=ttyS0 root=/dev/vda & more";
    m.source_files = {"/srv/appliances/web.qcow2"};
    m.source_urls = {"https://mirror.example.org/web.qcow2?a=1&b=2"};
    m.overlay_size = std::uint64_t{20} << 30;
    m.network = {"network", "default"};
    m.console = "none";
    m.user_data = ManifestFile{"cloud-init/user-data", std::string(64, 'd')};
    return m;
}

}  // namespace

TEST_CASE("render_manifest writes what parse_manifest reads back, field for field", "[manifest_writer]")
{
    const Manifest m = full_manifest();
    const auto text = render_manifest(m);
    auto back = parse_manifest(text, "rendered", template_dir() / "appliance.rng");
    INFO(text);
    REQUIRE(back.has_value());
    CHECK(back->name == m.name);
    CHECK(back->version == m.version);
    CHECK(back->description == m.description);
    CHECK(back->memory_bytes == m.memory_bytes);
    CHECK(back->vcpus == m.vcpus);
    CHECK(back->image.sha256 == m.image.sha256);
    CHECK(back->image.virtual_size == m.image.virtual_size);
    CHECK(back->image.file_size == m.image.file_size);
    CHECK(back->kernel->sha256 == m.kernel->sha256);
    CHECK(back->initrd->path == m.initrd->path);
    CHECK(back->cmdline == m.cmdline);
    CHECK(back->source_files == m.source_files);
    CHECK(back->source_urls == m.source_urls);
    CHECK(back->overlay_size == m.overlay_size);
    CHECK(back->network.type == "network");
    CHECK(back->network.name == "default");
    CHECK(back->console == "none");
    REQUIRE(back->user_data.has_value());
    CHECK(back->user_data->path == "cloud-init/user-data");
    CHECK(back->user_data->sha256 == m.user_data->sha256);
}

TEST_CASE("render_manifest leaves out what has its default", "[manifest_writer]")
{
    Manifest m = full_manifest();
    m.kernel.reset();
    m.initrd.reset();
    m.cmdline.reset();
    m.source_files.clear();
    m.source_urls.clear();
    m.overlay_size = m.image.virtual_size;
    m.user_data.reset();
    const auto text = render_manifest(m);
    CHECK_THAT(text, !Catch::Contains("<boot>") && !Catch::Contains("<sources>") && !Catch::Contains("<context>") &&
                         !Catch::Contains("cloud-init"));
    auto back = parse_manifest(text, "rendered", template_dir() / "appliance.rng");
    REQUIRE(back.has_value());
    CHECK(back->overlay_size == m.image.virtual_size);
}

TEST_CASE("a bad field in a rendered manifest is refused by the parser", "[manifest_writer]")
{
    Manifest m = full_manifest();
    m.name = "../evil";
    auto back = parse_manifest(render_manifest(m), "rendered", template_dir() / "appliance.rng");
    REQUIRE(!back.has_value());
    CHECK(back.error().code == ErrorCode::BadManifest);
}
