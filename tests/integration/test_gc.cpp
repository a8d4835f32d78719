// appshare gc and list --all-hosts against a private libvirtd, on one host with a local
// directory as shared storage; other hosts are simulated by writing their registry entries and
// usage records through the library's own writers, under their names.
#include "store/host_registry.hpp"
#include "store/usage_records.hpp"
#include "support/install_env.hpp"
#include "support/lock_holder.hpp"
#include "support/shared_storage.hpp"

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>

namespace fs = std::filesystem;
using namespace appshare;
using namespace appshare::test;
using std::chrono::hours;

namespace {

// `appshare ARGS --json`: stdout alone, parsed (notices on stderr are dropped).
nlohmann::json appshare_json(const std::vector<std::string>& args)
{
    std::string cmd = "exec \"$0\"";
    for (std::size_t i = 1; i <= args.size(); ++i) cmd += " \"$" + std::to_string(i) + "\"";
    std::vector<std::string> argv{"sh", "-c", cmd + " 2>/dev/null", appshare_bin().string()};
    argv.insert(argv.end(), args.begin(), args.end());
    const auto r = run(argv);
    INFO("appshare " << args[0] << " printed:\n" << r.output);
    REQUIRE(r.status == 0);
    return nlohmann::json::parse(r.output);
}

std::vector<std::string> paths_of(const nlohmann::json& items)
{
    std::vector<std::string> out;
    for (const auto& i : items) out.push_back(i["path"]);
    return out;
}

bool contains(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }

}  // namespace

TEST_CASE("gc removes unused bases and keeps those used here or on another live host", "[gc][integration]")
{
    InstallEnv env;
    const auto bundle = [&](const std::string& name, std::uint64_t mib) {
        SampleOptions o;
        o.name = name;
        o.data_bytes = mib << 20;  // another size, another content: another base
        return env.sample_bundle(o, name);
    };
    const auto here = bundle("here", 1);      // a domain defined here uses it
    const auto unused = bundle("unused", 2);  // installed, then uninstalled
    const auto other = bundle("other", 3);    // used by a domain on another, live host
    const auto gone = bundle("gone", 4);      // used only by a host not seen for 10 days
    REQUIRE(here.sha256 != unused.sha256);
    REQUIRE(other.sha256 != gone.sha256);
    const auto base = [&](const SampleBundle& b) { return (env.shared / (b.sha256 + ".qcow2")).string(); };
    const auto record = [&](const SampleBundle& b) { return env.shared_records / (b.sha256 + ".qcow2.verified"); };

    const auto here_name = unique_name("gc-here");
    appshare_ok({"install", here.dir.string(), "--name", here_name});
    for (const auto* b : {&unused, &other, &gone}) {
        const auto n = unique_name("gc-tmp");
        appshare_ok({"install", b->dir.string(), "--name", n});
        appshare_ok({"uninstall", n});
    }
    register_host(env.shared, "otherhost", hours(1));
    register_host(env.shared, "oldhost", hours(24 * 10));
    write_record(env.shared, usage_record("otherhost", "web-other", other.sha256, hours(30)));
    write_record(env.shared, usage_record("oldhost", "web-old", gone.sha256, hours(30)));
    // A load on this host died and left its temporary file next to a base that stays.
    const auto part = env.shared / ("." + other.sha256 + ".qcow2.part-vm-99999-0");
    write_file(part, std::string(64 * 1024, 'x'));
    // A day and more later.
    age_store(env.shared, hours(30));
    age_store(env.shared_records, hours(30));

    // list --all-hosts: every host's instances, from the shared storage.
    const auto listing = appshare_json({"list", "--all-hosts", "--json"});
    const auto instance = [&](const std::string& domain) {
        for (const auto& i : listing["instances"]) {
            if (i["domain"] == domain) return i;
        }
        FAIL("list --all-hosts does not show " << domain << ":\n" << listing.dump(2));
        return nlohmann::json();
    };
    CHECK(instance("web-other")["host"] == "otherhost");
    CHECK(instance("web-other")["host_live"] == true);
    CHECK(instance("web-other")["base_sha256"] == other.sha256);
    CHECK(instance("web-old")["host_live"] == false);
    CHECK(instance(here_name)["host_status"] == "this host");
    CHECK(instance(here_name)["state"] == "stopped");  // recorded by install
    CHECK(listing["instances"].size() == 3);  // uninstall removed its records
    const auto list_text = appshare_ok({"list", "--all-hosts"});
    CHECK(has(list_text, "web-other"));
    CHECK(has(list_text, "host oldhost: gone"));
    // Without the flag, list is what it was: the domains libvirt has here.
    const auto plain = appshare_json({"list", "--json"});
    REQUIRE(plain["instances"].size() == 1);
    CHECK(plain["instances"][0]["name"] == here_name);

    // --dry-run: what would go, and nothing goes.
    const auto dry = appshare_json({"gc", "--dry-run", "--json"});
    CHECK(dry["dry_run"] == true);
    const auto would = paths_of(dry["removed"]);
    CHECK(contains(would, base(unused)));
    CHECK(contains(would, base(gone)));
    CHECK(contains(would, part.string()));
    CHECK(would.size() == 3);
    for (const auto* b : {&here, &unused, &other, &gone}) CHECK(fs::exists(base(*b)));
    CHECK(fs::exists(part));

    // A start holds the unused base's lock.
    {
        const auto lock = base(unused) + ".lock";
        LockHolderProcess holder(lock, std::chrono::seconds(60));
        // It took it just now: gc keeps the base without waiting.
        const auto fresh = run_appshare({"gc", "--dry-run"});
        INFO(fresh.output);
        CHECK(has(fresh.output, "kept base " + base(unused) + ": its lock was taken"));
        // gc decided from an older note, then finds the lock busy: it waits its bounded wait,
        // then skips the base and goes on.
        write_old_lock_note(lock, hours(30));
        const auto busy = run_appshare({"gc"});
        INFO(busy.output);
        CHECK(busy.status == 0);
        CHECK(has(busy.output, "appshare: waiting for a lock held by"));
        CHECK(has(busy.output, "skipped base " + base(unused) + ": its lock is held by"));
        CHECK(fs::exists(base(unused)));
        CHECK(fs::exists(record(unused)));
        CHECK_FALSE(fs::exists(base(gone)));  // the rest went on
    }
    write_old_lock_note(base(unused) + ".lock", hours(30));

    const auto done = appshare_json({"gc", "--json"});
    const auto removed = paths_of(done["removed"]);
    CHECK(contains(removed, base(unused)));
    CHECK_FALSE(fs::exists(base(unused)));
    CHECK_FALSE(fs::exists(record(unused)));
    CHECK_FALSE(fs::exists(base(unused) + ".lock"));
    CHECK(done["bytes_freed"].get<std::uint64_t>() >= unused.image_bytes);
    const auto kept = [&](const SampleBundle& b) {
        for (const auto& k : done["kept"]) {
            if (k["path"] == base(b)) return k["reason"].get<std::string>();
        }
        return std::string("(not kept)");
    };
    CHECK(has(kept(here), "named by domain " + here_name));
    CHECK(has(kept(other), "used by domain web-other on host otherhost"));
    CHECK(fs::exists(base(here)));
    CHECK(fs::exists(base(other)));
    CHECK_FALSE(fs::exists(part));
    // Said the first time: the gone host's records kept nothing, and they are gone with its base.
    CHECK(list_usage_records(env.shared, gone.sha256).empty());

    // Nothing left to do: the text says so.
    const auto again = appshare_ok({"gc"});
    CHECK(has(again, "freed 0 B (0 files removed)"));

    // The domain here is undefined behind appshare's back (virsh undefine): its record is this
    // host's to reconcile, and then nothing keeps its base.
    auto dom = lookup_domain(env.conn, here_name);
    REQUIRE(dom);
    REQUIRE(undefine_domain(*dom));
    write_record(env.shared, usage_record(this_host_name(), here_name, here.sha256, hours(30), "stopped"));
    const auto reconciled = appshare_json({"gc", "--json"});
    bool record_removed = false;
    for (const auto& c : reconciled["records"]) {
        record_removed = record_removed || (c["domain"] == here_name && c["action"] == "removed");
    }
    CHECK(record_removed);
    CHECK(contains(paths_of(reconciled["removed"]), base(here)));
    CHECK_FALSE(fs::exists(base(here)));
    CHECK(list_usage_records(env.shared, here.sha256).empty());
    // This host recorded itself in the registry.
    CHECK(fs::exists(host_record_path(env.shared, this_host_name())));
}

TEST_CASE("gc --grace: what was used within it stays", "[gc][integration]")
{
    InstallEnv env;
    const auto b = env.sample_bundle();
    const auto n = unique_name("gc-grace");
    appshare_ok({"install", b.dir.string(), "--name", n});
    appshare_ok({"uninstall", n});
    const auto path = (env.shared / (b.sha256 + ".qcow2")).string();
    age_store(env.shared, hours(30));
    age_store(env.shared_records, hours(30));

    const auto kept = appshare_json({"gc", "--grace", std::to_string(2 * 86400), "--json"});
    CHECK(kept["removed"].empty());
    REQUIRE(kept["kept"].size() == 1);
    CHECK(has(kept["kept"][0]["reason"].get<std::string>(), "its lock was taken 30 h ago"));
    CHECK(fs::exists(path));

    const auto bad = run_appshare({"gc", "--grace", "-1"});
    CHECK(bad.status == 2);

    const auto removed = appshare_json({"gc", "--grace", "3600", "--json"});
    CHECK(paths_of(removed["removed"]) == std::vector<std::string>{path});
    CHECK_FALSE(fs::exists(path));
}
