#include "hook/hook_dispatch.hpp"

#include "base/text.hpp"
#include "instance/instance_state.hpp"
#include "store/host_registry.hpp"
#include "store/usage_records.hpp"
#include "support/config_file.hpp"
#include "support/hook_fixture.hpp"
#include "support/lock_holder.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <stdexcept>

using namespace appshare;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {
const std::string kUuid = "0b6f5cbb-7d0b-4c3e-9b35-6a0f1f2d3e4a";

// A domain XML with kUuid as its <uuid> (the fixture's has none).
std::string with_uuid(std::string xml)
{
    xml.replace(xml.find("<name>web1</name>"), 17, "<name>web1</name><uuid>" + kUuid + "</uuid>");
    return xml;
}
}  // namespace

TEST_CASE("hook operations map to actions", "[hook_dispatch]")
{
    CHECK(classify_hook_call("prepare", "begin") == HookAction::Prepare);
    CHECK(classify_hook_call("started", "begin") == HookAction::Started);
    CHECK(classify_hook_call("release", "end") == HookAction::Release);
    CHECK(classify_hook_call("reconnect", "begin") == HookAction::Reconnect);
    CHECK(classify_hook_call("migrate", "begin") == HookAction::Migrate);
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
        const std::string foreign = "<domain type='qemu'><name>web1</name></domain>";
        CHECK(run_hook(request("migrate", "begin", foreign), conf).stdout_text == foreign);
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
    SECTION("an incoming migration makes the context, and the stop after it hands the bookkeeping over") {
        const std::string uuid = kUuid;
        auto meta = fx.metadata("web1");
        meta.overlay_size = 128ULL << 20;  // installed larger than the 64 MiB base
        const auto xml = with_uuid(fx.domain_xml("web1", meta));
        auto r = run_hook(request("migrate", "begin", xml), conf);
        INFO(r.stderr_text);
        REQUIRE(r.exit_status == 0);
        CHECK(r.stdout_text == xml);
        // The overlay has the size the source's has (the mirror needs it): qcow2's size field.
        const std::string header = test::read_file(fx.overlay("web1")).substr(24, 8);
        std::uint64_t virtual_size = 0;
        for (const char c : header) virtual_size = virtual_size << 8 | static_cast<unsigned char>(c);
        CHECK(virtual_size == 128ULL << 20);
        auto state = load_instance_state(fx.context_dir("web1"));
        REQUIRE(state);
        REQUIRE(*state);
        CHECK((*state)->host == this_host_name());
        CHECK(fx.log_count("domain web1: incoming migration prepared on") == 1);
        REQUIRE(run_hook(request("started", "begin", xml), conf).exit_status == 0);
        auto usage = list_usage_records(fx.config.shared_root, fx.base_sha);
        REQUIRE(usage.size() == 1);
        CHECK(usage[0].uuid == uuid);

        // Another host now records the same domain as running: a release here is the end of a
        // migration away. This host's record goes; its host-local context is moved aside.
        UsageRecord there = usage[0];
        there.host = "host-b";
        there.since = "2099-01-01T00:00:00Z";
        REQUIRE(write_usage_record(fx.config.shared_root, there));
        const std::string overlay_bytes = test::read_file(fx.overlay("web1"));
        REQUIRE(run_hook(request("release", "end", xml), conf).exit_status == 0);
        usage = list_usage_records(fx.config.shared_root, fx.base_sha);
        REQUIRE(usage.size() == 1);
        CHECK(usage[0].host == "host-b");
        CHECK_FALSE(fs::exists(fx.context_dir("web1")));
        const fs::path kept = fx.config.context_root / (".migrated.web1." + uuid);
        CHECK(test::read_file(kept / "disk.qcow2") == overlay_bytes);
        CHECK(test::read_file(kept / "migrated-to") == "host-b\n");
        CHECK(fx.log_count("domain web1: migrated to host-b; its host-local context is kept at " + kept.string()) == 1);

        // A start here of the definition the source kept is refused, never made on an empty overlay.
        auto start = run_hook(request("prepare", "begin", xml), conf);
        CHECK(start.exit_status == static_cast<int>(ErrorCode::NotFound));
        CHECK(std::count(start.stderr_text.begin(), start.stderr_text.end(), '\n') == 1);
        CHECK_THAT(start.stderr_text, Catch::Contains("host host-b") && Catch::Contains(kept.string()) &&
                                          Catch::Contains("mv " + kept.string() + " " + fx.context_dir("web1").string()));
        CHECK_FALSE(fs::exists(fx.context_dir("web1")));

        // Migrated back here, the context is made anew from the migration: the kept copy goes.
        REQUIRE(run_hook(request("migrate", "begin", xml), conf).exit_status == 0);
        CHECK(fs::exists(fx.overlay("web1")));
        CHECK_FALSE(fs::exists(kept));
        CHECK(fx.log_count("domain web1: removed the context kept from an earlier migration away") == 1);
    }
    SECTION("a stale running record of a dead destination makes a stop look like a migration: nothing is lost") {
        const std::string uuid = kUuid;
        const auto xml = with_uuid(fx.domain_xml("web1"));
        REQUIRE(run_hook(request("prepare", "begin", xml), conf).exit_status == 0);
        REQUIRE(run_hook(request("started", "begin", xml), conf).exit_status == 0);
        test::write_file(fx.context_dir("web1") / "guest-data", "the only copy");  // stands for the guest's writes
        const std::string overlay_bytes = test::read_file(fx.overlay("web1"));
        // A destination whose QEMU started during a failed migration, then died: its record stays.
        UsageRecord dead = list_usage_records(fx.config.shared_root, fx.base_sha).at(0);
        dead.host = "host-dead";
        dead.since = "2099-01-01T00:00:00Z";
        REQUIRE(write_usage_record(fx.config.shared_root, dead));
        REQUIRE(run_hook(request("release", "end", xml), conf).exit_status == 0);  // an ordinary stop
        const fs::path kept = fx.config.context_root / (".migrated.web1." + uuid);
        CHECK(test::read_file(kept / "guest-data") == "the only copy");
        CHECK(test::read_file(kept / "disk.qcow2") == overlay_bytes);
        // The next start says how to put it back; done so, the instance starts on its own overlay.
        auto start = run_hook(request("prepare", "begin", xml), conf);
        REQUIRE(start.exit_status != 0);
        CHECK_FALSE(fs::exists(fx.context_dir("web1")));
        const std::string hint = "put the context back with 'mv ";
        const auto at = start.stderr_text.find(hint);
        REQUIRE(at != std::string::npos);
        const std::string mv = start.stderr_text.substr(at + hint.size(), start.stderr_text.find('\'', at + hint.size()) - at - hint.size());
        CHECK(mv == kept.string() + " " + fx.context_dir("web1").string());
        fs::rename(kept, fx.context_dir("web1"));
        REQUIRE(run_hook(request("prepare", "begin", xml), conf).exit_status == 0);
        CHECK(test::read_file(fx.overlay("web1")) == overlay_bytes);
        CHECK(test::read_file(fx.context_dir("web1") / "guest-data") == "the only copy");
    }
    SECTION("a stop while a namesake runs elsewhere is no migration") {
        const auto xml = fx.domain_xml("web1");  // no UUID: never taken as the same instance
        REQUIRE(run_hook(request("prepare", "begin", xml), conf).exit_status == 0);
        REQUIRE(run_hook(request("started", "begin", xml), conf).exit_status == 0);
        UsageRecord there = list_usage_records(fx.config.shared_root, fx.base_sha).at(0);
        there.host = "host-b";
        there.uuid = kUuid;
        REQUIRE(write_usage_record(fx.config.shared_root, there));
        REQUIRE(run_hook(request("release", "end", xml), conf).exit_status == 0);
        CHECK(fs::exists(fx.overlay("web1")));
        CHECK(list_usage_records(fx.config.shared_root, fx.base_sha).size() == 2);
    }
    SECTION("an incoming migration that fails part-way leaves its context aside, never in the way") {
        const std::string uuid = kUuid;
        const auto xml = with_uuid(fx.domain_xml("web1"));
        REQUIRE(run_hook(request("migrate", "begin", xml), conf).exit_status == 0);
        REQUIRE(run_hook(request("prepare", "begin", xml), conf).exit_status == 0);  // libvirt's next call
        REQUIRE(run_hook(request("started", "begin", xml), conf).exit_status == 0);
        CHECK(fs::exists(fx.context_dir("web1") / "arriving"));
        // The source still runs it (its record older than this arrival): the migration failed.
        UsageRecord source = list_usage_records(fx.config.shared_root, fx.base_sha).at(0);
        source.host = "host-a";
        source.since = "2000-01-01T00:00:00Z";
        REQUIRE(write_usage_record(fx.config.shared_root, source));
        REQUIRE(run_hook(request("release", "end", xml), conf).exit_status == 0);
        const fs::path kept = fx.config.context_root / (".migrated.web1." + uuid);
        CHECK_FALSE(fs::exists(fx.context_dir("web1")));
        CHECK(fs::exists(kept / "disk.qcow2"));
        const auto usage = list_usage_records(fx.config.shared_root, fx.base_sha);
        REQUIRE(usage.size() == 1);
        CHECK(usage[0].host == "host-a");
        CHECK(fx.log_count("domain web1: the incoming migration did not complete; the domain runs on at host-a") == 1);
    }
    SECTION("an incoming migration that completed keeps its context at the first stop, unmarked") {
        const std::string uuid = kUuid;
        const auto xml = with_uuid(fx.domain_xml("web1"));
        REQUIRE(run_hook(request("migrate", "begin", xml), conf).exit_status == 0);
        REQUIRE(run_hook(request("started", "begin", xml), conf).exit_status == 0);
        REQUIRE(run_hook(request("release", "end", xml), conf).exit_status == 0);  // the source's record is gone
        CHECK(fs::exists(fx.overlay("web1")));
        CHECK_FALSE(fs::exists(fx.context_dir("web1") / "arriving"));
        const auto usage = list_usage_records(fx.config.shared_root, fx.base_sha);
        REQUIRE(usage.size() == 1);
        CHECK(usage[0].state == "stopped");
    }
    SECTION("a cloud-init seed that cannot arrive with a host-local context is refused before anything is made") {
        auto xml = fx.domain_xml("web1");
        const std::string seed = (fx.context_dir("web1") / "seed.iso").string();
        xml.replace(xml.find("</devices>"), 10, "<disk type='file' device='cdrom'><source file='" + seed +
                                                    "'/><target dev='hdc' bus='ide'/><readonly/></disk></devices>");
        auto r = run_hook(request("migrate", "begin", xml), conf);
        CHECK(r.exit_status == static_cast<int>(ErrorCode::NotFound));
        CHECK(r.stdout_text.empty());
        CHECK(std::count(r.stderr_text.begin(), r.stderr_text.end(), '\n') == 1);
        CHECK_THAT(r.stderr_text, Catch::Contains("cloud-init seed") &&
                                      Catch::Contains("'virsh change-media web1 hdc --eject --live --config'"));
        CHECK_FALSE(fs::exists(fx.context_dir("web1")));
    }
    SECTION("a refused incoming migration leaves no context behind") {
        fs::remove(fx.source_base);  // no source, no shared base: the base cannot be had
        auto r = run_hook(request("migrate", "begin", fx.domain_xml("web1")), conf);
        CHECK(r.exit_status != 0);
        CHECK(r.stdout_text.empty());
        CHECK(std::count(r.stderr_text.begin(), r.stderr_text.end(), '\n') == 1);
        CHECK_FALSE(fs::exists(fx.context_dir("web1")));
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

namespace {

// Whether `text` is safe on a terminal and in a log: no C0 control but the line ends, no DEL,
// valid UTF-8 without C1 controls.
bool clean_output(const std::string& text)
{
    for (std::size_t i = 0; i < text.size();) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c == '\n') {
            ++i;
            continue;
        }
        if (c < 0x20 || c == 0x7f) return false;
        if (c < 0x80) {
            ++i;
            continue;
        }
        const std::size_t n = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 && c < 0xf0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
        if (n == 0 || i + n > text.size()) return false;
        for (std::size_t k = 1; k < n; ++k) {
            if ((static_cast<unsigned char>(text[i + k]) & 0xc0) != 0x80) return false;
        }
        if (c == 0xc2 && static_cast<unsigned char>(text[i + 1]) < 0xa0) return false;  // C1
        i += n;
    }
    return true;
}

}  // namespace

TEST_CASE("control characters and invalid UTF-8 from outside never reach the hook's log or refusal raw", "[hook_dispatch][leaks]")
{
    test::TempDir dir;
    test::HookFixture fx(dir.path());
    fx.config.allowed_url_prefixes = {"http://127.0.0.1:1/"};
    const auto conf = dir / "appshare.conf";
    test::write_config_file(conf, fx.config);
    const std::string evil = "\x1b[2J\r\t\x7f\xc2\x9b\xff";  // ESC, CR, TAB, DEL, C1 CSI, invalid UTF-8
    const std::string xml_evil = "\n\t\r\xc2\x9b\xc2\x85";   // what an XML document can carry
    const auto prepare = [&](const std::string& domain, const std::string& xml) {
        return run_hook(HookRequest{domain, "prepare", "begin", "-", xml, false}, conf);
    };
    const auto check_outputs = [&](const HookResponse& r, const std::string& expect_in_log) {
        const auto log = fs::exists(fx.log_file()) ? test::read_file(fx.log_file()) : std::string();
        INFO("log:\n" << printable_message(log) << "\nstderr: " << printable_message(r.stderr_text));
        CHECK(clean_output(log));
        CHECK(clean_output(r.stderr_text));
        CHECK(std::count(r.stderr_text.begin(), r.stderr_text.end(), '\n') == (r.stderr_text.empty() ? 0 : 1));
        CHECK_THAT(log, Catch::Contains(expect_in_log));
    };

    SECTION("the domain name (from libvirt's arguments)") {
        const auto r = prepare("web1" + evil, fx.domain_xml("web1"));
        CHECK(r.exit_status != 0);
        check_outputs(r, "web1\\x1b[2J\\x0d\\x09\\x7f\\xc2\\x9b\\xff");
    }
    SECTION("a source file path in the metadata") {
        auto meta = fx.metadata("web1");
        meta.source_files = {(fx.source_dir / ("base" + xml_evil + ".qcow2")).string()};
        const auto r = prepare("web1", fx.domain_xml("web1", meta));
        CHECK(r.exit_status != 0);
        check_outputs(r, "base\\x0a\\x09\\x0d\\xc2\\x9b\\xc2\\x85.qcow2");
    }
    SECTION("a source URL in the metadata") {
        auto meta = fx.metadata("web1");
        meta.source_files.clear();
        meta.source_urls = {"http://127.0.0.1:1/base" + xml_evil};
        const auto r = prepare("web1", fx.domain_xml("web1", meta));
        CHECK(r.exit_status != 0);
        check_outputs(r, "http://127.0.0.1:1/base");
    }
    SECTION("the base's digest and names in the metadata") {
        auto meta = fx.metadata("web1");
        meta.base.sha256 = fx.base_sha.substr(0, 60) + xml_evil;
        meta.appliance_name = "app" + xml_evil;
        meta.appliance_version = "1" + xml_evil;
        const auto r = prepare("web1", fx.domain_xml("web1", meta));
        CHECK(r.exit_status != 0);
        check_outputs(r, "domain web1: ");
    }
    SECTION("raw bytes that are not even XML") {
        auto xml = fx.domain_xml("web1");
        xml.insert(xml.find("<name>") + 6, evil);
        const auto r = prepare("web1", xml);
        check_outputs(r, "domain web1: ");
    }
    SECTION("the note of a lock holder on the shared storage") {
        // A note is JSON, so valid UTF-8, but any control character may be in it.
        const std::string in_json = "\x1b[2J\r\t\x7f\xc2\x9b";
        const test::LockHolderProcess holder(fx.shared_base_lock(), 30s,
                                             LockHolder{"host" + in_json, 4242, "dom\nforged line", "load" + in_json});
        const auto r = prepare("web1", fx.domain_xml("web1"));
        CHECK(r.exit_status == 0);  // it falls back to a host-local copy
        check_outputs(r, "waiting for a lock held by pid 4242 on host\\x1b[2J\\x0d\\x09\\x7f\\xc2\\x9b (dom\\x0aforged line");
    }
}

TEST_CASE("the hook's catch-all turns anything thrown into one escaped sentence and exit 1", "[hook_dispatch]")
{
    const auto thrown = refuse_on_exception([]() -> HookResponse { throw std::runtime_error("boom\x1b[2J\nsecond line"); });
    CHECK(thrown.exit_status == 1);
    CHECK(thrown.stdout_text.empty());
    CHECK(thrown.stderr_text ==
          "appshare-hook failed unexpectedly (boom\\x1b[2J\\x0asecond line); the start was refused, please report this.\n");
    const auto odd = refuse_on_exception([]() -> HookResponse { throw 42; });
    CHECK(odd.exit_status == 1);
    CHECK(odd.stderr_text == "appshare-hook failed unexpectedly; the start was refused, please report this.\n");
    const auto fine = refuse_on_exception([] { return HookResponse{0, "out", ""}; });
    CHECK(fine.exit_status == 0);
    CHECK(fine.stdout_text == "out");
}
