#include "virt/capture_plan.hpp"

#include <catch2/catch.hpp>

using namespace appshare;

namespace {

std::string domain(const std::string& os_extra, const std::string& devices)
{
    return "<domain type='kvm'><name>vm</name><title>My VM</title><memory unit='KiB'>524288</memory><vcpu>3</vcpu>"
           "<os" + os_extra + "><type arch='x86_64' machine='pc'>hvm</type></os><devices>" + devices +
           "</devices></domain>";
}

const std::string kDisk = "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
                          "<source file='/var/lib/libvirt/images/vm.qcow2'/><target dev='vda' bus='virtio'/></disk>";

}  // namespace

TEST_CASE("plan_capture reads the disk, resources, network and console of a domain", "[capture_plan]")
{
    auto plan = plan_capture(domain("", kDisk + "<disk type='file' device='cdrom'><target dev='sda'/></disk>"
                                            "<interface type='network'><source network='default'/></interface>"
                                            "<interface type='bridge'><source bridge='br0'/></interface>"
                                            "<serial type='pty'/>"),
                             "vm");
    REQUIRE(plan.has_value());
    CHECK(plan->content.image == "/var/lib/libvirt/images/vm.qcow2");
    CHECK(plan->content.image_format == "qcow2");
    CHECK(plan->content.manifest.memory_bytes == 512u << 20);
    CHECK(plan->content.manifest.vcpus == 3);
    CHECK(plan->content.manifest.arch == "x86_64");
    CHECK(plan->content.manifest.network.type == "network");
    CHECK(plan->content.manifest.network.name == "default");
    CHECK(plan->content.manifest.console == "serial");
    CHECK(plan->content.manifest.description == "My VM");
    CHECK(!plan->content.kernel);
    REQUIRE(plan->warnings.size() == 2);  // the CD-ROM, the second interface
}

TEST_CASE("plan_capture takes direct kernel boot settings", "[capture_plan]")
{
    auto plan = plan_capture("<domain><name>vm</name><memory>262144</memory><os><type arch='x86_64'>hvm</type>"
                             "<kernel>/k</kernel><initrd>/i</initrd><cmdline>root=/dev/vda</cmdline></os><devices>" +
                                 kDisk + "</devices></domain>",
                             "vm");
    REQUIRE(plan.has_value());
    CHECK(*plan->content.kernel == "/k");
    CHECK(*plan->content.initrd == "/i");
    CHECK(*plan->content.manifest.cmdline == "root=/dev/vda");
    CHECK(plan->content.manifest.network.type == "none");
    CHECK(plan->content.manifest.console == "none");
}

TEST_CASE("plan_capture refuses what a bundle cannot carry", "[capture_plan]")
{
    const auto refused = [](const std::string& xml, ErrorCode code, const std::string& needle) {
        auto plan = plan_capture(xml, "vm");
        REQUIRE(!plan.has_value());
        CHECK(plan.error().code == code);
        CHECK_THAT(plan.error().message, Catch::Contains(needle));
    };
    refused(domain("", kDisk + kDisk), ErrorCode::Usage, "2 writable disks");
    refused(domain("", ""), ErrorCode::Usage, "no disk");
    refused(domain(" firmware='efi'", kDisk), ErrorCode::Usage, "UEFI");
    refused(domain("", kDisk + "<hostdev mode='subsystem' type='pci'/>"), ErrorCode::Usage, "host device");
    refused(domain("", "<disk type='network' device='disk'><driver type='raw'/><source protocol='nbd'/></disk>"),
            ErrorCode::UnsafeImage, "type");
    refused(domain("", "<disk type='file' device='disk'><source file='/x'/></disk>"), ErrorCode::UnsafeImage,
            "records no format");
    refused(domain("", "<disk type='file' device='disk'><driver type='vmdk'/><source file='/x'/></disk>"),
            ErrorCode::UnsafeImage, "vmdk");
}
