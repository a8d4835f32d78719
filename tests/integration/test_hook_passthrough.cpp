// The hook never gets in the way of other domains and other hooks: a domain without appshare
// metadata starts as it would without the hook, another script in qemu.d/ still runs for every
// domain, and the bookkeeping records appear at start and go at release.
#include "store/usage_records.hpp"
#include "support/hook_sandbox.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>

#include <sys/stat.h>

using namespace appshare;
using namespace appshare::test;
namespace fs = std::filesystem;

namespace {

std::string plain_domain_xml(const std::string& name, const fs::path& disk)
{
    return "<domain type='qemu'><name>" + name + "</name><memory unit='MiB'>32</memory><vcpu>1</vcpu>"
           "<os><type arch='x86_64'>hvm</type></os><devices>"
           "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='" + disk.string() +
           "'/><target dev='vda' bus='virtio'/></disk><memballoon model='none'/></devices></domain>";
}

}  // namespace

TEST_CASE("foreign domains and other hooks are left alone", "[hook][integration][passthrough]")
{
    const auto root = sandbox_root("pass");
    HookFixture fx(root);
    const auto marker = root / "marker.txt";
    const fs::path other_hook = "/etc/libvirt/hooks/qemu.d/zz-marker";
    write_file(other_hook, "#!/bin/sh\necho \"$1 $2 $3\" >> " + marker.string() + "\n");
    fs::permissions(other_hook, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                    fs::perms::others_read | fs::perms::others_exec);
    Connection conn = serve_hook(fx);

    const std::string plain = unique_name("plain");
    const auto disk = root / "plain.qcow2";
    run_ok({"qemu-img", "create", "-q", "-f", "qcow2", disk.string(), "16M"});
    const auto plain_dom = define(conn, plain_domain_xml(plain, disk));
    auto started = start_domain(plain_dom);
    INFO((started ? std::string() : started.error().message));
    REQUIRE(started);
    CHECK(state_of(plain_dom) == DomainState::Running);
    const auto marks = read_file(marker);
    CHECK_THAT(marks, Catch::Contains(plain + " prepare begin") && Catch::Contains(plain + " started begin"));
    CHECK(fx.log_count("domain " + plain) == 0);
    CHECK(list_usage_records(fx.config.shared_root).empty());

    const std::string ours = unique_name("ours");
    const auto our_dom = define(conn, fx.domain_xml(ours));
    started = start_domain(our_dom);
    INFO((started ? std::string() : started.error().message));
    REQUIRE(started);
    CHECK_THAT(read_file(marker), Catch::Contains(ours + " prepare begin"));
    auto usage = list_usage_records(fx.config.shared_root, fx.base_sha);
    REQUIRE(usage.size() == 1);
    CHECK(usage[0].domain == ours);
    REQUIRE(destroy_domain(our_dom));
    // Released: the record stays (the domain is still defined here), saying it stopped.
    usage = list_usage_records(fx.config.shared_root, fx.base_sha);
    REQUIRE(usage.size() == 1);
    CHECK(usage[0].state == "stopped");
    REQUIRE(destroy_domain(plain_dom));

    SECTION("the pass-through path costs a few milliseconds and prints nothing") {
        const auto xml = plain_domain_xml(plain, disk);
        const auto in = root / "plain.xml";
        write_file(in, xml);
        const auto t0 = std::chrono::steady_clock::now();
        for (int i = 0; i < 10; ++i) {
            auto r = run({"sh", "-c", "exec \"$0\" dom prepare begin - < \"$1\"", hook_bin().string(), in.string()});
            CHECK(r.status == 0);
            CHECK(r.output.empty());
        }
        const auto per_call = (std::chrono::steady_clock::now() - t0) / 10;
        CHECK(per_call < std::chrono::milliseconds(100));
    }
}
