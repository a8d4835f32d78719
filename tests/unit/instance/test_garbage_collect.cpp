// appshare gc on one host, with other hosts simulated through the library's own writers: what
// it removes, what it provably keeps and why, and how it behaves next to lock holders, gone
// hosts, this host's stale records and bad files on the shared storage.
#include "instance/garbage_collect.hpp"

#include "base/host_identity.hpp"
#include "base/sha256.hpp"
#include "instance/arrival.hpp"
#include "instance/lock_and_load.hpp"
#include "instance/migrated_context.hpp"
#include "store/blob_gc.hpp"
#include "store/verification_record.hpp"
#include "support/lock_holder.hpp"
#include "support/shared_storage.hpp"
#include "support/test_support.hpp"

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <span>

#include <sys/stat.h>

using namespace appshare;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using std::chrono::hours;

namespace {

const hours kOld{48};  // older than the default grace of 24 h

struct GcBed {
    test::TempDir dir;
    Config config;
    BlobStore shared;
    BlobStore local;
    LocalDomains here;

    GcBed() : shared(dir / "shared", dir / "local" / "verified-shared"), local(dir / "local")
    {
        config.shared_root = shared.dir();
        config.local_root = local.dir();
        config.context_root = dir / "contexts";
        config.host_gone = hours(72);
        here.exists = [this](const std::string& name) -> Result<bool> { return here.names.count(name) != 0; };
    }

    // A file published in `store` through the store's own lock-and-load, then made to look
    // `ago` old: loaded, verified and its lock last taken then.
    BlobSpec publish(const BlobStore& store, const std::string& content, const std::string& kind = "qcow2",
                     std::chrono::seconds ago = kOld)
    {
        const auto source = dir / ("source-" + std::to_string(counter++));
        test::write_file(source, content);
        auto sha = sha256_file(source);
        REQUIRE(sha);
        const BlobSpec spec{*sha, kind, "", content.size()};
        EnsureOptions o;
        o.lock_wait = 1000ms;
        o.holder = LockHolder{"loader", 1, "web0", "load base"};
        auto loaded = store.ensure(spec, {BlobSource{"test", [content](const ByteSink& sink) {
                                              return sink(std::as_bytes(std::span(content.data(), content.size())));
                                          }}},
                                   o);
        REQUIRE(loaded);
        if (ago.count() > 0) age(store, spec, ago);
        return spec;
    }

    static void age(const BlobStore& store, const BlobSpec& spec, std::chrono::seconds ago)
    {
        const auto file = store.path_of(spec);
        test::make_old(file, ago);
        struct stat st {};
        REQUIRE(::lstat(file.c_str(), &st) == 0);
        auto record = make_record(st, spec.sha256);
        record.verified_at = test::timestamp_ago(ago);
        REQUIRE(write_record(*DirHandle::open(store.records_dir()), file.filename().string(), record));
        test::write_old_lock_note(store.lock_path_of(spec), ago);
    }

    void domain_here(const std::string& name, std::vector<std::string> digests, bool active = false)
    {
        here.names.insert(name);
        LocalDomain d;
        d.name = name;
        d.active = active;
        d.digests = std::move(digests);
        InstancePaths p;
        p.domain = name;
        p.base = BlobSpec{d.digests.front(), "qcow2", "qcow2", 1};
        p.context = context_layout(config.context_root, name);
        d.paths = p;
        here.appshare.push_back(std::move(d));
    }

    GcReport gc(GcOptions o = {})
    {
        if (o.lock_wait == 5000ms) o.lock_wait = 300ms;
        auto r = collect_garbage(config, here, o);
        INFO((r ? std::string() : r.error().message));
        REQUIRE(r);
        INFO(gc_report_text(*r));
        return std::move(*r);
    }

    int counter = 0;
};

const GcItem* find_item(const std::vector<GcItem>& items, const fs::path& path)
{
    const auto it = std::find_if(items.begin(), items.end(), [&](const GcItem& i) { return i.path == path; });
    return it == items.end() ? nullptr : &*it;
}

bool warned(const GcReport& r, const std::string& text)
{
    return std::any_of(r.warnings.begin(), r.warnings.end(), [&](const std::string& w) { return w.find(text) != std::string::npos; });
}

bool all_traces_gone(const BlobStore& store, const BlobSpec& spec)
{
    const auto file = store.path_of(spec);
    return !fs::exists(fs::symlink_status(file)) && !fs::exists(store.record_path_of(spec)) && !fs::exists(store.lock_path_of(spec));
}

}  // namespace

TEST_CASE("gc removes an unused base and provably keeps the used ones", "[gc]")
{
    GcBed bed;
    const auto unused = bed.publish(bed.shared, "unused base");
    const auto other = bed.publish(bed.shared, "base used on another host");
    const auto defined_here = bed.publish(bed.shared, "base of a domain defined here");
    const auto gone = bed.publish(bed.shared, "base used only on a gone host");
    const auto fresh = bed.publish(bed.shared, "base loaded a minute ago", "qcow2", std::chrono::seconds(0));
    test::register_host(bed.config.shared_root, "otherhost", hours(1));
    test::register_host(bed.config.shared_root, "oldhost", hours(24 * 10));
    test::write_record(bed.config.shared_root, test::usage_record("otherhost", "web-other", other.sha256, kOld));
    test::write_record(bed.config.shared_root, test::usage_record("oldhost", "web-old", gone.sha256, kOld));
    bed.domain_here("web-here", {defined_here.sha256});

    SECTION("a real run") {
        const auto r = bed.gc();
        REQUIRE(r.removed.size() == 2);
        const auto* u = find_item(r.removed, bed.shared.path_of(unused));
        REQUIRE(u);
        CHECK(u->what == "base");
        CHECK(u->bytes >= 4096);
        CHECK_THAT(u->reason, Catch::Contains("no instance uses it") && Catch::Contains("last used 2 days ago"));
        CHECK(all_traces_gone(bed.shared, unused));

        // The gone host's record kept nothing, and that is said.
        const auto* g = find_item(r.removed, bed.shared.path_of(gone));
        REQUIRE(g);
        CHECK_THAT(g->reason, Catch::Contains("host oldhost is taken as gone") && Catch::Contains("web-old"));
        CHECK(all_traces_gone(bed.shared, gone));
        REQUIRE(r.gone_hosts.size() == 1);
        CHECK(r.gone_hosts[0].name == "oldhost");
        CHECK(r.gone_hosts[0].records == 1);
        CHECK(list_usage_records(bed.config.shared_root, gone.sha256).empty());  // nothing will release it

        const auto kept_for = [&](const BlobSpec& s) {
            const auto* k = find_item(r.kept, bed.shared.path_of(s));
            REQUIRE(k);
            CHECK(fs::exists(bed.shared.path_of(s)));
            CHECK(fs::exists(bed.shared.record_path_of(s)));
            return k->reason;
        };
        CHECK_THAT(kept_for(other), Catch::Contains("used by domain web-other on host otherhost (running)"));
        CHECK_THAT(kept_for(defined_here), Catch::Contains("named by domain web-here"));
        CHECK_THAT(kept_for(fresh), Catch::Contains("its lock was taken"));

        CHECK(r.bytes_freed == u->bytes + g->bytes);
        const auto text = gc_report_text(r);
        CHECK_THAT(text, Catch::Contains("removed base " + bed.shared.path_of(unused).string()) &&
                             Catch::Contains("host oldhost was last seen") && Catch::Contains("taken as gone") &&
                             Catch::Contains("freed "));
        const auto j = gc_report_json(r);
        CHECK(j["dry_run"] == false);
        CHECK(j["removed"].size() == 2);
        CHECK(j["bytes_freed"] == r.bytes_freed);
        CHECK(j["gone_hosts"][0]["name"] == "oldhost");
        CHECK(j["grace_seconds"] == 86400);

        // This host is in the registry now.
        CHECK(fs::exists(host_record_path(bed.config.shared_root, this_host_name())));
        // A start that comes after gc loads the base again.
        EnsureOptions o;
        o.holder = LockHolder{"h", 1, "web9", "load base"};
        const std::string content = "unused base";
        auto again = bed.shared.ensure(unused, {BlobSource{"test", [&](const ByteSink& sink) {
                                                     return sink(std::as_bytes(std::span(content.data(), content.size())));
                                                 }}},
                                       o);
        REQUIRE(again);
        CHECK(again->action == EnsureOutcome::Action::Loaded);
    }
    SECTION("--dry-run removes nothing and says what it would remove") {
        GcOptions o;
        o.dry_run = true;
        const auto r = bed.gc(o);
        CHECK(r.removed.size() == 2);
        CHECK(find_item(r.removed, bed.shared.path_of(unused)));
        CHECK(r.bytes_freed > 0);
        for (const auto& s : {unused, other, defined_here, gone, fresh}) {
            CHECK(fs::exists(bed.shared.path_of(s)));
            CHECK(fs::exists(bed.shared.lock_path_of(s)));
        }
        CHECK(list_usage_records(bed.config.shared_root, gone.sha256).size() == 1);
        CHECK_FALSE(fs::exists(host_record_path(bed.config.shared_root, this_host_name())));
        CHECK_THAT(gc_report_text(r), Catch::Contains("would remove base") && Catch::Contains("nothing was removed"));
    }
    SECTION("a longer grace keeps what was used within it; --grace 0 still spares a lock taken minutes ago") {
        GcOptions o;
        o.grace = hours(24 * 3);
        auto r = bed.gc(o);
        CHECK(r.removed.empty());
        CHECK_THAT(find_item(r.kept, bed.shared.path_of(unused))->reason, Catch::Contains("its lock was taken 2 days ago"));

        o.grace = std::chrono::seconds(0);
        r = bed.gc(o);
        CHECK(find_item(r.kept, bed.shared.path_of(fresh)));
        o.lock_recent = std::chrono::seconds(0);
        r = bed.gc(o);
        CHECK(find_item(r.removed, bed.shared.path_of(fresh)));
        CHECK(all_traces_gone(bed.shared, fresh));
    }
    SECTION("a host that is not in the registry keeps its bases, and that is said") {
        test::write_record(bed.config.shared_root, test::usage_record("ghost", "web-ghost", unused.sha256, kOld));
        const auto r = bed.gc();
        CHECK(find_item(r.kept, bed.shared.path_of(unused)));
        CHECK(warned(r, "host ghost has a usage record but no entry"));
    }
}

TEST_CASE("gc racing a lock holder waits, looks again under the lock, or skips: never deletes", "[gc]")
{
    GcBed bed;
    const auto base = bed.publish(bed.shared, "a base being started somewhere");
    GcOptions o;
    o.grace = std::chrono::seconds(0);
    o.lock_recent = std::chrono::seconds(0);  // the holder's fresh note alone keeps nothing here

    SECTION("a lock busy past the wait: skipped, the base stays") {
        test::LockHolderProcess holder(bed.shared.lock_path_of(base), 10000ms);
        const auto r = bed.gc(o);
        holder.kill();
        REQUIRE(r.skipped.size() == 1);
        CHECK_THAT(r.skipped[0].reason, Catch::Contains("its lock is held by pid 4242 on otherhost"));
        CHECK(r.removed.empty());
        CHECK(fs::exists(bed.shared.path_of(base)));
        CHECK(fs::exists(bed.shared.record_path_of(base)));
        o.dry_run = true;
        test::LockHolderProcess again(bed.shared.lock_path_of(base), 10000ms);
        CHECK(bed.gc(o).skipped.size() == 1);
    }
    SECTION("a record written while gc waits for the lock keeps the base") {
        test::register_host(bed.config.shared_root, "otherhost", hours(1));
        test::LockHolderProcess holder(bed.shared.lock_path_of(base), 500ms);
        // gc has decided the base is unused and now waits for its lock: a start elsewhere
        // records its domain meanwhile.
        bool waited = false;
        o.notice = [&](const std::string& line) {
            if (line.find("waiting for a lock") == std::string::npos) return;
            waited = true;
            test::write_record(bed.config.shared_root, test::usage_record("otherhost", "web-new", base.sha256));
        };
        o.lock_wait = 10000ms;
        const auto r = bed.gc(o);
        CHECK(waited);
        REQUIRE(r.kept.size() == 1);
        CHECK_THAT(r.kept[0].reason, Catch::Contains("used by domain web-new") && Catch::Contains("seen under its lock"));
        CHECK(fs::exists(bed.shared.path_of(base)));
    }
    SECTION("the same wait without a new record: removed once the holder lets go") {
        test::LockHolderProcess holder(bed.shared.lock_path_of(base), 500ms);
        o.lock_wait = 10000ms;
        const auto r = bed.gc(o);
        CHECK(r.removed.size() == 1);
        CHECK(all_traces_gone(bed.shared, base));
    }
}

TEST_CASE("gc removes temporary files of dead writers, only under their lock", "[gc]")
{
    GcBed bed;
    test::register_host(bed.config.shared_root, "otherhost", hours(1));
    const auto used = bed.publish(bed.shared, "a used base");
    test::write_record(bed.config.shared_root, test::usage_record("otherhost", "web1", used.sha256));
    const auto part = bed.shared.dir() / ("." + used.sha256 + ".qcow2.part-deadhost-999-0");
    const auto record_part = bed.shared.dir() / ("." + used.sha256 + ".qcow2.verified.part-deadhost-999-1");
    test::write_file(part, std::string(10000, 'x'));
    test::write_file(record_part, "{");
    const auto usage_dir = bed.config.shared_root / "usage" / used.sha256;
    const auto old_record_part = usage_dir / ".otherhost@web2.json.part-otherhost-77-0";
    const auto new_record_part = usage_dir / ".otherhost@web3.json.part-otherhost-78-0";
    test::write_file(old_record_part, "{");
    test::make_old(old_record_part, hours(2));
    test::write_file(new_record_part, "{");

    SECTION("lock free: removed, the base kept") {
        const auto r = bed.gc();
        CHECK(find_item(r.removed, part));
        CHECK(find_item(r.removed, record_part));
        CHECK(find_item(r.removed, old_record_part));
        CHECK_FALSE(find_item(r.removed, new_record_part));
        CHECK_FALSE(fs::exists(part));
        CHECK_FALSE(fs::exists(record_part));
        CHECK_FALSE(fs::exists(old_record_part));
        CHECK(fs::exists(new_record_part));  // its writer may still be at work
        CHECK(fs::exists(bed.shared.path_of(used)));
        // gc looked under the lock without leaving its own note there: the last user stays named.
        const auto note = read_lock_note(bed.shared.lock_path_of(used));
        REQUIRE(note);
        CHECK(note->holder.host == "otherhost");
    }
    SECTION("a load holds the lock: it may be writing them, they stay") {
        test::LockHolderProcess holder(bed.shared.lock_path_of(used), 10000ms);
        const auto r = bed.gc();
        holder.kill();
        CHECK(find_item(r.skipped, part));
        CHECK(fs::exists(part));
        CHECK(fs::exists(record_part));
    }
}

TEST_CASE("gc removes unused host-local copies and keeps those of domains here", "[gc]")
{
    GcBed bed;
    const auto unused = bed.publish(bed.local, "a host-local copy nobody uses");
    const auto used = bed.publish(bed.local, "the copy an independent instance runs on");
    // A record of another host naming a digest keeps the shared base, never a local copy.
    test::register_host(bed.config.shared_root, "otherhost", hours(1));
    test::write_record(bed.config.shared_root, test::usage_record("otherhost", "web1", unused.sha256));
    bed.domain_here("web-independent", {used.sha256});
    const auto r = bed.gc();
    const auto* removed = find_item(r.removed, bed.local.path_of(unused));
    REQUIRE(removed);
    CHECK(removed->what == "host-local copy");
    CHECK(all_traces_gone(bed.local, unused));
    CHECK(find_item(r.kept, bed.local.path_of(used)));
    CHECK(fs::exists(bed.local.path_of(used)));
}

TEST_CASE("boot files: kept with their domain's base, and whenever an older record does not say", "[gc]")
{
    GcBed bed;
    test::register_host(bed.config.shared_root, "otherhost", hours(1));
    const auto base = bed.publish(bed.shared, "base");
    const auto kernel = bed.publish(bed.shared, "kernel", "kernel");
    const auto stray = bed.publish(bed.shared, "a kernel nobody uses", "kernel");
    auto rec = test::usage_record("otherhost", "web1", base.sha256);
    rec.boot_sha256 = std::vector<std::string>{kernel.sha256};
    test::write_record(bed.config.shared_root, rec);

    SECTION("records that list their boot files") {
        const auto r = bed.gc();
        CHECK_THAT(find_item(r.kept, bed.shared.path_of(kernel))->reason, Catch::Contains("used by domain web1"));
        const auto* gone = find_item(r.removed, bed.shared.path_of(stray));
        REQUIRE(gone);
        CHECK(gone->what == "boot file");
    }
    SECTION("a record of an older appshare keeps every boot file") {
        rec.domain = "web2";
        rec.boot_sha256.reset();
        test::write_record(bed.config.shared_root, rec);
        const auto r = bed.gc();
        CHECK_THAT(find_item(r.kept, bed.shared.path_of(stray))->reason, Catch::Contains("older appshare"));
        CHECK(fs::exists(bed.shared.path_of(stray)));
    }
}

TEST_CASE("gc reconciles this host's usage records with the domains libvirt has here", "[gc]")
{
    GcBed bed;
    const auto me = this_host_name();
    const auto base = bed.publish(bed.shared, "base of domains here");
    const auto orphan_base = bed.publish(bed.shared, "base only a crashed domain's record names");
    bed.domain_here("web-here", {base.sha256}, /*active=*/false);
    bed.domain_here("web-unrecorded", {base.sha256}, /*active=*/true);
    test::write_record(bed.config.shared_root, test::usage_record(me, "web-here", base.sha256, hours(1), "running"));
    test::write_record(bed.config.shared_root, test::usage_record(me, "web-crashed", orphan_base.sha256, hours(1)));
    test::write_record(bed.config.shared_root, test::usage_record(me, "web-installing", base.sha256));

    SECTION("records of domains gone from here go, wrong states are fixed, missing records are written") {
        const auto r = bed.gc();
        const auto change = [&](const std::string& domain) {
            const auto it = std::find_if(r.records.begin(), r.records.end(), [&](const GcRecordChange& c) { return c.domain == domain; });
            return it == r.records.end() ? std::string() : it->action + ": " + it->reason;
        };
        CHECK_THAT(change("web-crashed"), Catch::StartsWith("removed") && Catch::Contains("libvirt here has no domain web-crashed"));
        CHECK_THAT(change("web-here"), Catch::StartsWith("rewritten") && Catch::Contains("it said running"));
        CHECK_THAT(change("web-unrecorded"), Catch::StartsWith("written"));
        CHECK(change("web-installing").empty());  // written minutes ago: an install may be under way

        const auto records = list_usage_records(bed.config.shared_root);
        const auto state_of = [&](const std::string& domain) {
            const auto it = std::find_if(records.begin(), records.end(), [&](const UsageRecord& x) { return x.domain == domain; });
            return it == records.end() ? std::string("none") : it->state;
        };
        CHECK(state_of("web-crashed") == "none");
        CHECK(state_of("web-here") == "stopped");
        CHECK(state_of("web-unrecorded") == "running");
        CHECK(state_of("web-installing") == "running");
        // Its record gone, nothing keeps the crashed domain's base.
        CHECK(find_item(r.removed, bed.shared.path_of(orphan_base)));
        CHECK(find_item(r.kept, bed.shared.path_of(base)));
    }
    SECTION("a domain that appears before the record goes keeps it") {
        bed.here.exists = [](const std::string&) -> Result<bool> { return true; };
        const auto r = bed.gc();
        CHECK(list_usage_records(bed.config.shared_root, orphan_base.sha256).size() == 1);
        CHECK(find_item(r.kept, bed.shared.path_of(orphan_base)));
    }
    SECTION("dry-run says so and changes no record") {
        GcOptions o;
        o.dry_run = true;
        const auto before = list_usage_records(bed.config.shared_root);
        const auto r = bed.gc(o);
        CHECK(r.records.size() == 3);
        CHECK(find_item(r.removed, bed.shared.path_of(orphan_base)));  // as it would be
        const auto after = list_usage_records(bed.config.shared_root);
        REQUIRE(after.size() == before.size());
        for (std::size_t i = 0; i < after.size(); ++i) CHECK(after[i].since == before[i].since);
        CHECK_THAT(gc_report_text(r), Catch::Contains("would have removed the usage record of domain web-crashed"));
    }
    SECTION("another machine under this host's name: nothing of this host's is reconciled, and that is said") {
        // Machines without /etc/machine-id cannot be told apart: nothing to check there.
        REQUIRE_FALSE(this_machine_id().empty());
        test::register_host(bed.config.shared_root, me, hours(1), "00000000000000000000000000000000");
        const auto r = bed.gc();
        CHECK(r.records.empty());
        CHECK(find_item(r.kept, bed.shared.path_of(orphan_base)));
        CHECK(warned(r, "another machine"));
    }
}

TEST_CASE("bad files on the shared storage are skipped safely and never keep or break gc", "[gc]")
{
    GcBed bed;
    const auto base = bed.publish(bed.shared, "a base surrounded by junk");
    test::register_host(bed.config.shared_root, "otherhost", hours(1));
    const auto usage_dir = bed.config.shared_root / "usage" / base.sha256;
    test::write_record(bed.config.shared_root, test::usage_record("otherhost", "web1", std::string(64, 'e')));
    const auto valid = bed.config.shared_root / "usage" / std::string(64, 'e') / "otherhost@web1.json";
    test::plant_bad_files(usage_dir, valid, "evil\x1b[2J@web1.json",
                          R"({"host": "evil\u001b[2J", "domain": "web1", "base": ")" + base.sha256 +
                              R"(", "mode": "shared", "path": "/x", "since": "2026-01-01T00:00:00Z"})");
    test::plant_bad_files(bed.config.shared_root / "hosts", host_record_path(bed.config.shared_root, "otherhost"),
                          "evil\x1b[2J.json", R"({"name": "evil\u001b[2J", "last_seen": "2026-01-01T00:00:00Z"})");
    // A link planted at a store name is a published file gc may remove (never followed).
    const auto target = bed.dir / "precious";
    test::write_file(target, "not appshare's");
    fs::create_symlink(target, bed.shared.dir() / (std::string(64, 'f') + ".qcow2"));
    test::make_old(bed.shared.dir() / (std::string(64, 'f') + ".qcow2"), kOld);

    const auto r = bed.gc();
    CHECK(find_item(r.removed, bed.shared.path_of(base)));
    CHECK(find_item(r.removed, bed.shared.dir() / (std::string(64, 'f') + ".qcow2")));
    CHECK(fs::exists(target));
    CHECK(r.warnings.size() >= 10);
    const auto text = gc_report_text(r);
    CHECK(text.find('\x1b') == std::string::npos);
    CHECK_THAT(text, Catch::Contains("fifo.json: is not a regular file") && Catch::Contains("evil\\x1b[2J"));
    CHECK_NOTHROW(gc_report_json(r).dump());
}

TEST_CASE("gc without the shared storage creates nothing there and judges only host-local copies", "[gc]")
{
    GcBed bed;
    const auto copy = bed.publish(bed.local, "a host-local copy nobody uses");
    bed.config.shared_root = bed.dir / "not-mounted";
    const auto r = bed.gc();
    CHECK(warned(r, "is not there (not mounted?)"));
    CHECK_FALSE(fs::exists(bed.config.shared_root));
    CHECK(find_item(r.removed, bed.local.path_of(copy)));
}

TEST_CASE("gc removes a context kept at a migration away only once another live host has the domain", "[gc]")
{
    GcBed bed;
    const std::string uuid = "0b6f5cbb-7d0b-4c3e-9b35-6a0f1f2d3e4a";
    const auto base = bed.publish(bed.shared, "base of a migrated domain");
    const auto kept = bed.config.context_root / migrated_context_name("web1", uuid);
    fs::create_directories(kept);
    test::write_file(kept / "disk.qcow2", "the guest's writes");
    test::register_host(bed.config.shared_root, "host-b", hours(1));
    test::register_host(bed.config.shared_root, "host-dead", kOld * 2);
    const auto record_on = [&](const std::string& host, const std::string& state) {
        auto r = test::usage_record(host, "web1", base.sha256, hours(1), state);
        r.uuid = uuid;
        test::write_record(bed.config.shared_root, r);
    };

    SECTION("running on a live host and not defined here: removed") {
        record_on("host-b", "running");
        auto r = bed.gc();
        const auto* i = find_item(r.removed, kept);
        REQUIRE(i);
        CHECK(i->what == "migrated context");
        CHECK_THAT(i->reason, Catch::Contains("running on host host-b"));
        CHECK_FALSE(fs::exists(kept));
    }
    SECTION("defined (stopped) on a live host counts too; dry-run removes nothing") {
        record_on("host-b", "stopped");
        GcOptions o;
        o.dry_run = true;
        CHECK(find_item(bed.gc(o).removed, kept));
        CHECK(fs::exists(kept / "disk.qcow2"));
        CHECK(find_item(bed.gc().removed, kept));
        CHECK_FALSE(fs::exists(kept));
    }
    SECTION("still defined here: kept") {
        record_on("host-b", "running");
        bed.domain_here("web1", {base.sha256});
        const auto r = bed.gc();
        REQUIRE(find_item(r.kept, kept));
        CHECK_THAT(find_item(r.kept, kept)->reason, Catch::Contains("still defined here"));
        CHECK(fs::exists(kept / "disk.qcow2"));
    }
    SECTION("only a gone host's record, or another UUID's: kept, it may be the only copy") {
        record_on("host-dead", "running");
        auto namesake = test::usage_record("host-b", "web1", base.sha256, hours(1), "running");
        namesake.uuid = "11111111-2222-3333-4444-555555555555";
        test::write_record(bed.config.shared_root, namesake);
        const auto r = bed.gc();
        REQUIRE(find_item(r.kept, kept));
        CHECK_THAT(find_item(r.kept, kept)->reason, Catch::Contains("may be its only copy"));
        CHECK(fs::exists(kept / "disk.qcow2"));
    }
}

TEST_CASE("gc removes the load guards of bases no store here holds, never one a start holds", "[gc]")
{
    GcBed bed;
    const auto kept_shared = bed.publish(bed.shared, "a base still on the shared storage");
    const auto kept_local = bed.publish(bed.local, "a host-local copy still here");
    bed.domain_here("web1", {kept_shared.sha256});
    bed.domain_here("web2", {kept_local.sha256});
    const auto guard = [&](const std::string& sha) { return bed.config.local_root / (sha + ".qcow2.load.lock"); };
    const std::string gone_sha(64, 'b');
    const std::string busy_sha(64, 'c');
    for (const auto& sha : {kept_shared.sha256, kept_local.sha256, gone_sha, busy_sha}) test::write_file(guard(sha), "");
    test::write_file(bed.config.local_root / (std::string(64, 'd') + ".kernel.load.lock"), "");  // not a guard's name

    CHECK(load_guard_of(guard(gone_sha).filename().string())->sha256 == gone_sha);
    CHECK(!load_guard_of("x.qcow2.load.lock"));

    test::LockHolderProcess start(guard(busy_sha), 10000ms);
    GcOptions dry;
    dry.dry_run = true;
    const auto looked = bed.gc(dry);
    CHECK(find_item(looked.removed, guard(gone_sha)));
    CHECK(!find_item(looked.removed, guard(busy_sha)));
    CHECK(fs::exists(guard(gone_sha)));

    const auto r = bed.gc();
    start.kill();
    const auto* removed = find_item(r.removed, guard(gone_sha));
    REQUIRE(removed);
    CHECK(removed->what == "load guard");
    CHECK(!fs::exists(guard(gone_sha)));
    CHECK(fs::exists(guard(busy_sha)));
    CHECK(fs::exists(guard(kept_shared.sha256)));
    CHECK(fs::exists(guard(kept_local.sha256)));
    CHECK(fs::exists(bed.config.local_root / (std::string(64, 'd') + ".kernel.load.lock")));
    const auto after = bed.gc();  // the start is over
    CHECK(find_item(after.removed, guard(busy_sha)));
    CHECK(!fs::exists(guard(busy_sha)));
}

TEST_CASE("gc settles a context an incoming migration left marked as arriving", "[gc]")
{
    GcBed bed;
    const std::string uuid = "0b6f5cbb-7d0b-4c3e-9b35-6a0f1f2d3e4a";
    const auto base = bed.publish(bed.shared, "base of an arriving domain");
    const auto layout = context_layout(bed.config.context_root, "web1");
    fs::create_directories(layout.dir);
    test::write_file(layout.overlay, "part of a mirror");
    REQUIRE(mark_arriving(layout, uuid));
    test::register_host(bed.config.shared_root, "host-a", hours(1));
    // This host's record, left running by a release that could not reach the shared storage.
    auto mine = test::usage_record(this_host_name(), "web1", base.sha256, hours(1), "running");
    mine.uuid = uuid;
    test::write_record(bed.config.shared_root, mine);

    SECTION("the source still runs it and it is not defined here: the migration failed, nothing is left") {
        auto source = test::usage_record("host-a", "web1", base.sha256, hours(2), "running");
        source.uuid = uuid;
        test::write_record(bed.config.shared_root, source);
        const auto r = bed.gc();
        CHECK_FALSE(fs::exists(layout.dir));
        CHECK(find_item(r.removed, bed.config.context_root / migrated_context_name("web1", uuid)));
        const auto left = list_usage_records(bed.config.shared_root, base.sha256);
        REQUIRE(left.size() == 1);
        CHECK(left[0].host == "host-a");
    }
    SECTION("defined here, it is this host's: untouched") {
        auto source = test::usage_record("host-a", "web1", base.sha256, hours(2), "running");
        source.uuid = uuid;
        test::write_record(bed.config.shared_root, source);
        bed.domain_here("web1", {base.sha256}, true);
        bed.gc();
        CHECK(fs::exists(layout.overlay));
        CHECK(fs::exists(layout.dir / "arriving"));
    }
    SECTION("nobody else runs it: it arrived, the mark goes and the context stays") {
        bed.gc();
        CHECK(fs::exists(layout.overlay));
        CHECK_FALSE(fs::exists(layout.dir / "arriving"));
    }
}
