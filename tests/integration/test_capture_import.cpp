// `appshare capture` against the private libvirtd: a plain (non-appshare) domain booting the
// demo appliance's kernel from a disk that is a 3-level qcow2 chain, or a raw file, is captured
// into a bundle; the bundle installs with `appshare install` and its guest boots with the same
// content (the demo guest's boot counter, written by the original domain, goes on counting).
// Refusals; `--replace` turns the domain itself into an instance and puts it back on failure.
// And `appshare import` of an OVA made here from the demo disk (a streamOptimized VMDK): the
// imported appliance boots.
//
// APPSHARE_DEMO_BUNDLE and APPSHARE_DEMO_BOOT_TIMEOUT (default here 240 s) as in
// support/demo_appliance.hpp.
#include "support/config_file.hpp"
#include "support/demo_appliance.hpp"
#include "support/hook_sandbox.hpp"
#include "support/install_env.hpp"
#include "support/ova_package.hpp"
#include "support/sandbox.hpp"

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <functional>
#include <sstream>
#include <string>

namespace fs = std::filesystem;
using namespace appshare::test;
using namespace std::chrono_literals;

namespace {

// The configuration the hook and the command share (/etc/appshare/appshare.conf in the
// sandbox), roots of its own, and a folder for the source domains' disks and boot files.
struct CaptureEnv {
    fs::path root = fs::path("/var/lib/libvirt/images") / unique_name("appshare-capture");
    fs::path disks = root / "disks";
    fs::path contexts = root / "contexts";
    TempDir scratch;

    CaptureEnv()
    {
        sandbox_dir();  // (fails the test outside the sandbox)
        fs::create_directories(disks);
        appshare::Config settings;
        settings.shared_root = root / "shared";
        settings.context_root = contexts;
        settings.local_root = root / "local";
        settings.lock_wait = 120s;
        settings.log = (root / "hook.log").string();
        settings.virt_type = "qemu";
        write_config_file("/etc/appshare/appshare.conf", settings);
        ::setenv("APPSHARE_CONFIG", "/etc/appshare/appshare.conf", 1);
        ::setenv("APPSHARE_HOOK_BIN", hook_bin().c_str(), 1);
    }
};

fs::path serial_log(const std::string& name) { return "/var/log/libvirt/qemu/" + name + "-serial.log"; }

// A plain TCG domain booting the demo kernel and initrd in `dir` (through its firmware when `dir`
// is empty) with `disk` (format `format`) as its root disk; `extra` goes into <devices>.
std::string source_domain(const std::string& name, const fs::path& dir, const fs::path& disk,
                          const std::string& format, const std::string& extra = "")
{
    std::ostringstream x;
    x << "<domain type='qemu'><name>" << name << "</name><memory unit='MiB'>256</memory><vcpu>1</vcpu>"
      << "<os><type arch='x86_64'>hvm</type>";
    if (!dir.empty()) {
        x << "<kernel>" << (dir / "vmlinuz").string() << "</kernel><initrd>" << (dir / "initrd.img").string()
          << "</initrd><cmdline>console=ttyS0 root=/dev/vda rw quiet tsc=reliable no_timer_check mitigations=off</cmdline>";
    }
    x << "</os><devices><disk type='file' device='disk'><driver name='qemu' type='" << format
      << "'/><source file='" << disk.string() << "'/><target dev='vda' bus='virtio'/></disk>"
      << "<serial type='file'><source path='" << serial_log(name).string()
      << "'/><target port='0'/></serial><console type='file'><source path='" << serial_log(name).string()
      << "'/><target type='serial' port='0'/></console>" << extra << "</devices></domain>";
    return x.str();
}

void define_xml(const std::string& xml, const fs::path& scratch)
{
    write_file(scratch / "domain.xml", xml);
    run_ok({"virsh", "-q", "define", (scratch / "domain.xml").string()});
}

// The demo's kernel and initrd beside the source disks (libvirt relabels what a domain boots).
void copy_boot_files(const DemoBundle& b, const fs::path& dir)
{
    fs::copy_file(b.dir / "boot/vmlinuz", dir / "vmlinuz");
    fs::copy_file(b.dir / "boot/initrd.img", dir / "initrd.img");
}

std::uintmax_t log_size(const std::string& name)
{
    std::error_code ec;
    const auto n = fs::file_size(serial_log(name), ec);
    return ec ? 0 : n;
}

// Starts `name` and waits for its ready line, then pulls the plug (the guest flushed before it).
ReadyLine boot_once(const std::string& name)
{
    Boot boot{name, serial_log(name), log_size(name), std::chrono::steady_clock::now()};
    const auto started = run({"virsh", "-q", "start", name});
    INFO(started.output);
    REQUIRE(started.status == 0);
    const auto ready = wait_ready(boot, boot_timeout_seconds(240));
    run_ok({"virsh", "-q", "destroy", name});
    return ready;
}

void reload_hooks()
{
    appshare_ok({"hook", "register", "--reload"});
    wait_for_reloaded_libvirtd("appshare hook register --reload");
}

// A thin clone of `bundle` installed as `name` with the built command, booted once, then
// uninstalled: what its guest said.
ReadyLine clone_boots(const fs::path& bundle, const std::string& name)
{
    appshare_ok({"install", bundle.string(), "--name", name, "--virt-type", "qemu"});
    reload_hooks();
    const auto ready = boot_once(name);
    appshare_ok({"uninstall", name});
    return ready;
}

}  // namespace

TEST_CASE("capture: a domain on a 3-level qcow2 chain becomes a bundle whose clones boot with its content",
          "[integration][capture]")
{
    CaptureEnv env;
    const auto bundle = demo_bundle(env.scratch);
    copy_boot_files(bundle, env.disks);
    run_ok({"cp", (bundle.dir / "images/base.qcow2").string(), (env.disks / "l0.qcow2").string()});
    run_ok({"sh", "-c", "cd '" + env.disks.string() + "' && qemu-img create -q -f qcow2 -b l0.qcow2 -F qcow2 l1.qcow2 && "
                        "qemu-img create -q -f qcow2 -b l1.qcow2 -F qcow2 l2.qcow2"});
    const auto src = unique_name("cap-chain");
    define_xml(source_domain(src, env.disks, env.disks / "l2.qcow2", "qcow2"), env.scratch.path());
    // The source boots once: its boot counter (1) lands in the top of the chain.
    CHECK(boot_once(src).boots == 1);

    const auto out = env.scratch / "captured";
    const auto captured = appshare_ok({"capture", src, "-o", out.string(), "--name", "captured", "--version", "7"});
    INFO(captured);
    CHECK(has(captured, "is valid"));
    const auto v = nlohmann::json::parse(appshare_ok({"verify", "--json", out.string()}));
    CHECK(v["name"] == "captured");
    CHECK(v["memory_bytes"] == 256 * 1024 * 1024);
    CHECK(v["console"] == "serial");
    CHECK(v["network"]["type"] == "none");
    CHECK(v["kernel"]["sha256"] == openssl_sha256(bundle.dir / "boot/vmlinuz"));
    CHECK_THAT(v["cmdline"].get<std::string>(), Catch::Contains("root=/dev/vda"));
    CHECK_THAT(run_ok({"qemu-img", "info", (out / "images/base.qcow2").string()}), !Catch::Contains("backing"));

    // A thin clone of the captured appliance boots with the source's content: boots goes on to 2.
    const auto clone = unique_name("cap-clone");
    const auto r = clone_boots(out, clone);
    CHECK(r.host == clone);
    CHECK(r.app == bundle.version);
    CHECK(r.boots == 2);
    run_ok({"virsh", "-q", "undefine", src});
}

TEST_CASE("capture: a domain on a raw disk", "[integration][capture]")
{
    CaptureEnv env;
    const auto bundle = demo_bundle(env.scratch);
    copy_boot_files(bundle, env.disks);
    run_ok({"qemu-img", "convert", "-f", "qcow2", "-O", "raw", (bundle.dir / "images/base.qcow2").string(),
            (env.disks / "disk.raw").string()});
    const auto src = unique_name("cap-raw");
    define_xml(source_domain(src, env.disks, env.disks / "disk.raw", "raw"), env.scratch.path());
    const auto out = env.scratch / "captured.tar";
    appshare_ok({"capture", src, "-o", out.string(), "--name", "captured-raw"});
    const auto r = clone_boots(out, unique_name("cap-rawclone"));
    CHECK(r.app == bundle.version);
    CHECK(r.boots == 1);
    run_ok({"virsh", "-q", "undefine", src});
}

TEST_CASE("capture: refuses what it cannot capture faithfully, with one sentence", "[integration][capture]")
{
    CaptureEnv env;
    const auto disk = env.disks / "disk.qcow2";
    run_ok({"qemu-img", "create", "-q", "-f", "qcow2", disk.string(), "16M"});
    const auto src = unique_name("cap-refuse");
    const auto out = env.scratch / "out";
    // Defines the source with `extra` devices, runs `prepare`, and expects capture to refuse.
    const auto refused = [&](const std::string& extra, int status, const std::string& needle,
                             const std::function<void()>& prepare = {}) {
        define_xml(source_domain(src, {}, disk, "qcow2", extra), env.scratch.path());
        if (prepare) prepare();
        const auto r = run_appshare({"capture", src, "-o", out.string()});
        run({"virsh", "-q", "destroy", src});
        run_ok({"virsh", "-q", "undefine", "--snapshots-metadata", src});
        check_one_sentence(r);
        CHECK(r.status == status);
        CHECK(has(r.output, needle));
        CHECK(!fs::exists(out));
    };
    SECTION("no such domain") {
        const auto r = run_appshare({"capture", "no-such-domain-here", "-o", out.string()});
        check_one_sentence(r);
        CHECK(r.status == 11);
    }
    SECTION("several writable disks") {
        run_ok({"qemu-img", "create", "-q", "-f", "qcow2", (env.disks / "second.qcow2").string(), "16M"});
        refused("<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='" +
                    (env.disks / "second.qcow2").string() + "'/><target dev='vdb' bus='virtio'/></disk>",
                2, "2 writable disks");
    }
    SECTION("host device pass-through") {
        refused("<hostdev mode='subsystem' type='usb'><source><vendor id='0x1234'/><product id='0xbeef'/></source></hostdev>",
                2, "host device");
    }
    SECTION("snapshots") {
        refused("", 2, "snapshot", [&] { run_ok({"virsh", "-q", "snapshot-create-as", src, "snap1"}); });
    }
    SECTION("a running domain") {
        refused("", 12, "shut it down", [&] { run_ok({"virsh", "-q", "start", src}); });
    }
}

TEST_CASE("capture --replace: the domain becomes an instance of its own appliance, or stays as it was",
          "[integration][capture]")
{
    CaptureEnv env;
    const auto bundle = demo_bundle(env.scratch);
    copy_boot_files(bundle, env.disks);
    run_ok({"cp", (bundle.dir / "images/base.qcow2").string(), (env.disks / "l0.qcow2").string()});
    run_ok({"sh", "-c", "cd '" + env.disks.string() + "' && qemu-img create -q -f qcow2 -b l0.qcow2 -F qcow2 top.qcow2"});
    const auto src = unique_name("cap-replace");
    const auto xml = source_domain(src, env.disks, env.disks / "top.qcow2", "qcow2");
    define_xml(xml, env.scratch.path());
    const auto out = env.scratch / "captured";

    SECTION("an install that fails puts the domain back") {
        fs::create_directories(env.contexts / src);  // install refuses an existing context
        const auto r = run_appshare({"capture", src, "-o", out.string(), "--replace"});
        check_one_sentence(r);
        CHECK(r.status == 10);
        CHECK(!fs::exists(out));
        const auto now = run_ok({"virsh", "-q", "dumpxml", src});
        CHECK(has(now, (env.disks / "top.qcow2").string()));
        CHECK(!has(now, "urn:appshare"));
        run_ok({"virsh", "-q", "undefine", src});
    }
    SECTION("round trip") {
        CHECK(boot_once(src).boots == 1);
        const auto captured = appshare_ok({"capture", src, "-o", out.string(), "--name", "replaced", "--replace"});
        INFO(captured);
        CHECK(has(captured, "now an appshare instance"));
        CHECK(has(captured, (env.disks / "top.qcow2").string()));
        CHECK(fs::exists(env.disks / "top.qcow2"));
        const auto listed = nlohmann::json::parse(appshare_ok({"list", "--json"}));
        INFO(listed.dump());
        bool found = false;
        for (const auto& i : listed["instances"]) found = found || i["name"] == src;
        CHECK(found);
        reload_hooks();
        const auto r = boot_once(src);
        CHECK(r.host == src);
        CHECK(r.boots == 2);
        CHECK(!has(run_ok({"virsh", "-q", "dumpxml", src}), (env.disks / "top.qcow2").string()));
        appshare_ok({"uninstall", src});
    }
}

TEST_CASE("import: an OVA of the demo disk becomes an appliance that boots", "[integration][import]")
{
    CaptureEnv env;
    const auto bundle = demo_bundle(env.scratch);
    const auto pkg = env.scratch / "pkg";
    OvfOptions o;
    o.system_id = "demo-ova";
    const auto ova = make_ova(pkg, write_ovf_folder(pkg, bundle.dir / "images/base.qcow2", "qcow2", o, true),
                              env.scratch / "demo.ova");
    const auto out = env.scratch / "imported";
    appshare_ok({"import", ova.string(), "-o", out.string(), "--kernel", (bundle.dir / "boot/vmlinuz").string(),
                 "--initrd", (bundle.dir / "boot/initrd.img").string(), "--cmdline",
                 "console=ttyS0 root=/dev/vda rw quiet tsc=reliable no_timer_check mitigations=off", "--network", "none"});
    const auto name = unique_name("ova");
    const auto r = clone_boots(out, name);
    CHECK(r.host == name);
    CHECK(r.app == bundle.version);
    CHECK(r.boots == 1);
}
