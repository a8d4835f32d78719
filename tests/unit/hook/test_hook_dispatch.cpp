#include "hook/hook_dispatch.hpp"

#include "instance/instance_state.hpp"
#include "store/host_registry.hpp"
#include "store/usage_records.hpp"
#include "support/config_file.hpp"
#include "support/hook_fixture.hpp"

#include <catch2/catch.hpp>

#include <filesystem>

using namespace appshare;
namespace fs = std::filesystem;

TEST_CASE("hook operations map to actions", "[hook_dispatch]")
{
    CHECK(classify_hook_call("prepare", "begin") == HookAction::Prepare);
    CHECK(classify_hook_call("started", "begin") == HookAction::Started);
    CHECK(classify_hook_call("release", "end") == HookAction::Release);
    CHECK(classify_hook_call("reconnect", "begin") == HookAction::Reconnect);
    CHECK(classify_hook_call("migrate", "begin") == HookAction::EchoXml);
    CHECK(classify_hook_call("restore", "begin") == HookAction::EchoXml);
    for (const auto& [op, sub] : std::vector<std::pair<std::string, std::string>>{
             {"start", "begin"}, {"stopped", "end"}, {"prepare", "end"}, {"attach", "begin"}, {"", ""}, {"PREPARE", "begin"}}) {
        INFO(op << " " << sub);
        CHECK(classify_hook_call(op, sub) == HookAction::PassThrough);
    }
}

TEST_CASE("the hook passes foreign domains through and handles appshare ones", "[hook_dispatch]")
{
    test::TempDir dir;
    test::HookFixture fx(dir.path());
    const auto conf = dir / "appshare.conf";
    test::write_config_file(conf, fx.config);
    const auto request = [](std::string op, std::string sub, std::string xml) {
        return HookRequest{"web1", std::move(op), std::move(sub), "-", std::move(xml), false};
    };

    SECTION("a domain without appshare metadata: nothing, whatever the operation") {
        const std::string xml = "<domain type='qemu'><name>web1</name></domain>";
        for (const char* op : {"prepare", "started", "reconnect"}) {
            auto r = run_hook(request(op, "begin", xml), conf);
            CHECK(r.exit_status == 0);
            CHECK(r.stdout_text.empty());
            CHECK(r.stderr_text.empty());
        }
        CHECK_FALSE(fs::exists(fx.log_file()));
    }
    SECTION("migrate and restore print the XML back unchanged") {
        const auto xml = fx.domain_xml("web1");
        CHECK(run_hook(request("migrate", "begin", xml), conf).stdout_text == xml);
        CHECK(run_hook(request("restore", "begin", "<domain/>"), conf).stdout_text == "<domain/>");
        auto truncated = request("migrate", "begin", "<dom");
        truncated.stdin_truncated = true;
        CHECK(run_hook(truncated, conf).stdout_text.empty());
    }
    SECTION("prepare, started, release") {
        const auto xml = fx.domain_xml("web1");
        auto r = run_hook(request("prepare", "begin", xml), conf);
        INFO(r.stderr_text);
        REQUIRE(r.exit_status == 0);
        CHECK(r.stderr_text.empty());
        CHECK(fs::exists(fx.shared_base()));
        CHECK(fx.log_count("loaded " + fx.shared_base().string()) == 1);
        CHECK(fx.log_count("domain web1: prepared on") == 1);

        REQUIRE(run_hook(request("started", "begin", xml), conf).exit_status == 0);
        auto usage = list_usage_records(fx.config.shared_root, fx.base_sha);
        REQUIRE(usage.size() == 1);
        CHECK(usage[0].domain == "web1");
        CHECK(usage[0].host == this_host_name());
        CHECK(usage[0].mode == "shared");
        CHECK(usage[0].state == "running");
        CHECK(usage[0].machine_id == this_machine_id());
        CHECK(usage[0].boot_sha256 == std::vector<std::string>{});
        // The hook recorded this host as live.
        const auto hosts = scan_host_records(fx.config.shared_root).hosts;
        REQUIRE(hosts.size() == 1);
        CHECK(hosts[0].name == this_host_name());

        // Stopped, the domain is still defined here and still needs its base: the record stays.
        auto release = request("release", "end", xml);
        REQUIRE(run_hook(release, conf).exit_status == 0);
        usage = list_usage_records(fx.config.shared_root);
        REQUIRE(usage.size() == 1);
        CHECK(usage[0].state == "stopped");
    }
    SECTION("prepare refuses untrusted metadata with one sentence") {
        auto meta = fx.metadata("web1");
        meta.context_dir = "/etc";
        meta.overlay = "/etc/disk.qcow2";
        auto r = run_hook(request("prepare", "begin", fx.domain_xml("web1", meta)), conf);
        CHECK(r.exit_status == static_cast<int>(ErrorCode::UnsafePath));
        CHECK_THAT(r.stderr_text, Catch::Contains("/etc"));
        CHECK(std::count(r.stderr_text.begin(), r.stderr_text.end(), '\n') == 1);
        CHECK_FALSE(fs::exists("/etc/disk.qcow2"));
        // started with the same metadata is logged, never fails the domain.
        CHECK(run_hook(request("started", "begin", fx.domain_xml("web1", meta)), conf).exit_status == 0);
    }
    SECTION("a broken configuration refuses prepare only") {
        test::write_file(conf, "nonsense = 1\n");
        const auto xml = fx.domain_xml("web1");
        auto r = run_hook(request("prepare", "begin", xml), conf);
        CHECK(r.exit_status == static_cast<int>(ErrorCode::Config));
        CHECK(run_hook(request("release", "end", xml), conf).exit_status == 0);
    }
}
