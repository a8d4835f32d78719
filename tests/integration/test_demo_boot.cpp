// The demo appliance (scripts/make-demo-bundle.sh) really boots under TCG in the private
// libvirtd: direct kernel boot from the bundle, root disk = a thin qcow2 overlay over a copy
// of the bundle's base, identity from the NoCloud SMBIOS serial, and the ready line on the
// serial console. Writes land in the overlay (boots=2 on the second start) and never in the
// base (its digest is unchanged).
//
// APPSHARE_DEMO_BUNDLE and APPSHARE_DEMO_BOOT_TIMEOUT (default here 120 s) as in
// support/demo_appliance.hpp.
#include "support/demo_appliance.hpp"
#include "support/sandbox.hpp"
#include "support/test_support.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <string>

namespace fs = std::filesystem;
using namespace appshare::test;

namespace {

std::string xml_escape(const std::string& s)
{
    std::string out;
    for (char c : s) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '\'': out += "&apos;"; break;
            case '"': out += "&quot;"; break;
            default: out += c;
        }
    }
    return out;
}

struct Guest {
    std::string name;
    std::string hostname;
    std::string instance_id;
    fs::path overlay;
    fs::path serial_log;
};

// A TCG domain booting the bundle's kernel and initrd with `disk` as its root disk.
std::string domain_xml(const Guest& g, const fs::path& bundle, const std::string& cmdline)
{
    std::ostringstream x;
    x << "<domain type='qemu'>\n"
      << "  <name>" << xml_escape(g.name) << "</name>\n"
      << "  <memory unit='MiB'>256</memory>\n"
      << "  <vcpu>1</vcpu>\n"
      << "  <sysinfo type='smbios'><system><entry name='serial'>ds=nocloud;h=" << xml_escape(g.hostname)
      << ";i=" << xml_escape(g.instance_id) << "</entry></system></sysinfo>\n"
      << "  <os>\n"
      << "    <type arch='x86_64'>hvm</type>\n"
      << "    <kernel>" << xml_escape((bundle / "boot/vmlinuz").string()) << "</kernel>\n"
      << "    <initrd>" << xml_escape((bundle / "boot/initrd.img").string()) << "</initrd>\n"
      << "    <cmdline>" << xml_escape(cmdline) << "</cmdline>\n"
      << "    <smbios mode='sysinfo'/>\n"
      << "  </os>\n"
      << "  <features><acpi/><apic/></features>\n"
      << "  <devices>\n"
      << "    <disk type='file' device='disk'>\n"
      << "      <driver name='qemu' type='qcow2'/>\n"
      << "      <source file='" << xml_escape(g.overlay.string()) << "'/>\n"
      << "      <target dev='vda' bus='virtio'/>\n"
      << "    </disk>\n"
      << "    <serial type='file'><source path='" << xml_escape(g.serial_log.string())
      << "'/><target port='0'/></serial>\n"
      << "    <console type='file'><source path='" << xml_escape(g.serial_log.string())
      << "'/><target type='serial' port='0'/></console>\n"
      << "  </devices>\n"
      << "</domain>\n";
    return x.str();
}

// Starts the domain (console log emptied first); does not wait.
std::chrono::steady_clock::time_point start_guest(const Guest& g)
{
    fs::remove(g.serial_log);
    const auto t0 = std::chrono::steady_clock::now();
    run_ok({"virsh", "-q", "start", g.name});
    return t0;
}

// Waits for the guest's ready line (its console log was emptied at the start).
ReadyLine wait_ready(const Guest& g, std::chrono::steady_clock::time_point t0)
{
    return appshare::test::wait_ready(Boot{g.name, g.serial_log, 0, t0}, boot_timeout_seconds(120));
}

}  // namespace

TEST_CASE("demo bundle: manifest matches its files and the base is a standalone qcow2", "[integration][demo]")
{
    TempDir scratch;
    const fs::path bundle = demo_bundle(scratch).dir;
    const std::string xml = read_file(bundle / "appliance.xml");
    INFO("manifest:\n" << xml);

    // Written by `appshare pack`: an XML declaration, then the manifest.
    REQUIRE(xml.find("<appliance format=\"1\">") != std::string::npos);
    CHECK(element_text(xml, "name") == "appshare-demo");
    CHECK(element_text(xml, "arch") == "x86_64");
    const fs::path base = bundle / "images/base.qcow2";
    CHECK(xml.find("<image path=\"images/base.qcow2\" format=\"qcow2\">") != std::string::npos);
    CHECK(element_text(xml, "sha256", "<image ") == openssl_sha256(base));
    CHECK(element_text(xml, "size", "<image ") == std::to_string(fs::file_size(base)));
    CHECK(element_text(xml, "sha256", "<kernel ") == openssl_sha256(bundle / "boot/vmlinuz"));
    CHECK(element_text(xml, "sha256", "<initrd ") == openssl_sha256(bundle / "boot/initrd.img"));
    CHECK(element_text(xml, "cmdline").find("root=/dev/vda") != std::string::npos);

    const std::string info = run_ok({"qemu-img", "info", "--output=json", base.string()});
    INFO("qemu-img info:\n" << info);
    CHECK(info.find("\"format\": \"qcow2\"") != std::string::npos);
    CHECK(info.find("\"compat\": \"1.1\"") != std::string::npos);
    CHECK(info.find("backing-filename") == std::string::npos);
    CHECK(info.find("\"virtual-size\": " + element_text(xml, "virtual-size", "<image ") + ",") !=
          std::string::npos);

    SECTION("the application lives on the base disk, not in the initramfs")
    {
        const auto listing = run_ok({"sh", "-c", "gzip -dc \"$1\" | cpio -it --quiet", "sh",
                                     (bundle / "boot/initrd.img").string()});
        INFO("initramfs:\n" << listing);
        CHECK(listing.find("init\n") != std::string::npos);
        CHECK(listing.find("virtio_blk.ko") != std::string::npos);
        CHECK(listing.find("appshare-demo") == std::string::npos);
        const auto on_base = run_ok({"sh", "-c", "qemu-img convert -O raw \"$1\" \"$2\" && debugfs -R 'cat /usr/bin/appshare-demo' \"$2\"",
                                     "sh", base.string(), (scratch / "base.raw").string()});
        CHECK(on_base.find("appshare-demo ready host=") != std::string::npos);
    }
}

TEST_CASE("demo appliance boots under TCG from a qcow2 overlay over its base", "[integration][demo]")
{
    // Only ever next to the private libvirtd (scripts/libvirt-sandbox.sh).
    REQUIRE_FALSE(env_text("LIBVIRT_DEFAULT_URI").empty());
    sandbox_dir();

    TempDir scratch;
    const fs::path bundle = demo_bundle(scratch).dir;
    const std::string xml = read_file(bundle / "appliance.xml");
    const std::string cmdline = element_text(xml, "cmdline");
    const std::string version = element_text(xml, "version");
    REQUIRE(!cmdline.empty());

    // The shared base: one read-only copy that every instance's overlay is backed by.
    const fs::path images = "/var/lib/libvirt/images";
    fs::create_directories(images);
    const fs::path base = images / "appshare-demo-test-base.qcow2";
    fs::remove(base);
    fs::copy_file(bundle / "images/base.qcow2", base);
    fs::permissions(base, fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
    const std::string base_digest = openssl_sha256(base);
    REQUIRE(base_digest == element_text(xml, "sha256", "<image "));

    const fs::path logs = "/var/log/libvirt/qemu";
    fs::create_directories(logs);
    auto make_guest = [&](const std::string& suffix, const std::string& host, const std::string& id) {
        Guest g{"appshare-demo-test-" + suffix, host, id, images / ("appshare-demo-test-" + suffix + ".qcow2"),
                logs / ("appshare-demo-test-" + suffix + ".serial.log")};
        fs::remove(g.overlay);
        run_ok({"qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", base.string(), g.overlay.string()});
        write_file(scratch / (g.name + ".xml"), domain_xml(g, bundle, cmdline));
        run_ok({"virsh", "-q", "define", (scratch / (g.name + ".xml")).string()});
        return g;
    };
    const Guest a = make_guest("a", "alpha", "iid-alpha-0001");
    const Guest b = make_guest("b", "beta", "iid-beta-0002");

    // First boot of a: its identity from SMBIOS, first boot on its fresh overlay.
    const auto r1 = wait_ready(a, start_guest(a));
    std::cerr << "demo boot (TCG): " << a.name << " ready after " << r1.seconds << " s\n";
    CHECK(r1.host == "alpha");
    CHECK(r1.instance == "iid-alpha-0001");
    CHECK(r1.app == version);
    CHECK(r1.boots == 1);
    run_ok({"virsh", "-q", "destroy", a.name});

    // a again and b for the first time, in parallel, on the same base: a's counter persisted
    // in its overlay, b has its own identity and its own count.
    const auto ta = start_guest(a);
    const auto tb = start_guest(b);
    const auto r2 = wait_ready(a, ta);
    const auto r3 = wait_ready(b, tb);
    std::cerr << "demo boot (TCG): " << a.name << " second boot ready after " << r2.seconds << " s, " << b.name
              << " ready after " << r3.seconds << " s (in parallel)\n";
    CHECK(r2.host == "alpha");
    CHECK(r2.instance == "iid-alpha-0001");
    CHECK(r2.boots == 2);
    CHECK(r3.host == "beta");
    CHECK(r3.instance == "iid-beta-0002");
    CHECK(r3.boots == 1);
    run_ok({"virsh", "-q", "destroy", a.name});
    run_ok({"virsh", "-q", "destroy", b.name});

    // The base is untouched; each overlay still points at it.
    CHECK(openssl_sha256(base) == base_digest);
    for (const Guest* g : {&a, &b}) {
        const auto info = run_ok({"qemu-img", "info", "--output=json", g->overlay.string()});
        CHECK(info.find("\"backing-filename\": \"" + base.string() + "\"") != std::string::npos);
        run_ok({"virsh", "-q", "undefine", g->name});
    }
}
