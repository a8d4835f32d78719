// OVF packages made at test time: a disk converted by qemu-img to a streamOptimized VMDK, an
// OVF envelope written here, an optional .mf with the files' SHA-256, and the .ova (a tar with
// the envelope first), for the tests of `appshare import`.
#pragma once

#include "support/test_support.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace appshare::test {

struct OvfOptions {
    std::string system_id = "imported-vm";
    std::string version = "3.1";
    unsigned memory_mib = 256;
    unsigned vcpus = 2;
    std::string before_envelope;    // e.g. a DOCTYPE
    std::string extra_hardware;     // more <Item>s
    std::string disk_href = "disk1.vmdk";
};

inline std::string ovf_envelope(const OvfOptions& o)
{
    return "<?xml version=\"1.0\"?>\n" + o.before_envelope +
           "<Envelope xmlns=\"http://schemas.dmtf.org/ovf/envelope/1\" xmlns:ovf=\"http://schemas.dmtf.org/ovf/envelope/1\""
           " xmlns:rasd=\"http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData\">\n"
           "  <References><File ovf:id=\"file1\" ovf:href=\"" + o.disk_href + "\"/></References>\n"
           "  <DiskSection><Info>disks</Info><Disk ovf:diskId=\"vmdisk1\" ovf:fileRef=\"file1\" ovf:capacity=\"16777216\""
           " ovf:format=\"http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized\"/></DiskSection>\n"
           "  <VirtualSystem ovf:id=\"" + o.system_id + "\"><Info>A test VM</Info>\n"
           "    <ProductSection><Info>p</Info><Product>Imported test appliance</Product><Version>" + o.version +
           "</Version></ProductSection>\n"
           "    <VirtualHardwareSection><Info>hw</Info>\n"
           "      <Item><rasd:ElementName>2 CPUs</rasd:ElementName><rasd:InstanceID>1</rasd:InstanceID><rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>" +
           std::to_string(o.vcpus) + "</rasd:VirtualQuantity></Item>\n"
           "      <Item><rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits><rasd:ElementName>mem</rasd:ElementName><rasd:InstanceID>2</rasd:InstanceID><rasd:ResourceType>4</rasd:ResourceType><rasd:VirtualQuantity>" +
           std::to_string(o.memory_mib) + "</rasd:VirtualQuantity></Item>\n"
           "      <Item><rasd:ElementName>disk</rasd:ElementName><rasd:HostResource>ovf:/disk/vmdisk1</rasd:HostResource><rasd:InstanceID>3</rasd:InstanceID><rasd:ResourceType>17</rasd:ResourceType></Item>\n" +
           o.extra_hardware + "    </VirtualHardwareSection>\n  </VirtualSystem>\n</Envelope>\n";
}

// Writes `dir`/vm.ovf and `dir`/disk1.vmdk (from `image`, format `format`), and `dir`/vm.mf when
// `with_mf`; returns the package's file names, envelope first.
inline std::vector<std::string> write_ovf_folder(const std::filesystem::path& dir, const std::filesystem::path& image,
                                                 const std::string& format, const OvfOptions& o, bool with_mf)
{
    std::filesystem::create_directories(dir);
    run_ok({"qemu-img", "convert", "-f", format, "-O", "vmdk", "-o", "subformat=streamOptimized", image.string(),
            (dir / "disk1.vmdk").string()});
    write_file(dir / "vm.ovf", ovf_envelope(o));
    std::vector<std::string> files{"vm.ovf", "disk1.vmdk"};
    if (with_mf) {
        write_file(dir / "vm.mf", "SHA256(vm.ovf)= " + openssl_sha256(dir / "vm.ovf") + "\nSHA256(disk1.vmdk)= " +
                                      openssl_sha256(dir / "disk1.vmdk") + "\n");
        files.push_back("vm.mf");
    }
    return files;
}

// The .ova of the folder's `files`, in that order.
inline std::filesystem::path make_ova(const std::filesystem::path& dir, const std::vector<std::string>& files,
                                      const std::filesystem::path& ova)
{
    std::vector<std::string> argv{"tar", "-C", dir.string(), "--format=ustar", "-cf", ova.string()};
    argv.insert(argv.end(), files.begin(), files.end());
    run_ok(argv);
    return ova;
}

}  // namespace appshare::test
