// Per-instance cloud-init seeds (install --ssh-key/--user-data/--meta-data/--network-config/
// --password-generate) with the built `appshare` and hook next to the private libvirtd: what
// install writes and refuses, the hook remaking a deleted seed, and a real Debian 12 cloud-init
// guest (scripts/make-cloud-appliance.sh, cached in /var/cache/appshare-tests) installed twice
// and booted under TCG, each proving from its serial console that cloud-init gave it its own
// host name, authorised its own key and ran its own user-data.
//
// APPSHARE_CLOUD_BOOT_TIMEOUT=SECONDS changes the wait for the guests, from their starts (default 360).
#include "support/config_file.hpp"
#include "support/install_env.hpp"
#include "support/sample_bundle.hpp"
#include "support/sandbox.hpp"
#include "support/test_support.hpp"

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <iostream>
#include <regex>
#include <thread>

#include <sys/stat.h>

namespace fs = std::filesystem;
using namespace appshare::test;
using namespace std::chrono_literals;

namespace {

// The configuration the hook reads too (/etc/appshare in the sandbox), with a hook log.
struct CloudEnv {
    fs::path root = fs::path("/var/lib/libvirt/images") / unique_name("appshare-ci");
    fs::path contexts = root / "contexts";
    fs::path hook_log = root / "hook.log";
    fs::path config = "/etc/appshare/appshare.conf";
    TempDir scratch;

    CloudEnv()
    {
        sandbox_dir();  // (fails the test outside the sandbox)
        fs::create_directories(root);
        appshare::Config settings;
        settings.shared_root = root / "shared";
        settings.context_root = contexts;
        settings.local_root = root / "local";
        settings.lock_wait = 120s;
        settings.log = hook_log.string();
        settings.virt_type = "qemu";
        write_config_file(config, settings);
        ::setenv("APPSHARE_CONFIG", config.c_str(), 1);
        ::setenv("APPSHARE_HOOK_BIN", hook_bin().c_str(), 1);
    }
    [[nodiscard]] std::string hook_log_text() const { return fs::exists(hook_log) ? read_file(hook_log) : "(no hook log)"; }
};

// An OpenSSH key pair made by ssh-keygen; returns the public key file.
fs::path make_key(const CloudEnv& env, const std::string& name)
{
    const auto key = env.scratch / name;
    run_ok({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", key.string()});
    return key.string() + ".pub";
}

// The fingerprint cloud-init prints for a key: SHA-256 of the key blob, hex pairs (computed
// with coreutils, independent of appshare).
std::string console_fingerprint(const fs::path& pub)
{
    auto hex = run_ok({"sh", "-c", "cut -d' ' -f2 \"$1\" | base64 -d | sha256sum | cut -c1-64", "sh", pub.string()});
    std::string out;
    for (std::size_t i = 0; i + 1 < 64 && i + 1 < hex.size(); i += 2) out += (i ? ":" : "") + hex.substr(i, 2);
    return out;
}

mode_t mode_of(const fs::path& p)
{
    struct stat st {};
    REQUIRE(::lstat(p.c_str(), &st) == 0);
    return st.st_mode & 07777;
}

std::string dumpxml(const std::string& name) { return run_ok({"virsh", "-q", "dumpxml", "--inactive", name}); }

void reload_hooks()
{
    appshare_ok({"hook", "register", "--reload"});
    wait_for_reloaded_libvirtd("appshare hook register --reload");
}

// The real cloud appliance's bundle, made by `appshare pack` from the image in
// scripts/make-cloud-appliance.sh's cache (the one function to change for another recipe).
fs::path cloud_bundle(const CloudEnv& env, const fs::path& default_user_data)
{
    const auto dir = env.scratch / "cloud-bundle";
    const auto t0 = std::chrono::steady_clock::now();
    run_ok({"bash", (source_dir() / "scripts/make-cloud-appliance.sh").string(), "--user-data",
            default_user_data.string(), "--pack", appshare_bin().string(), dir.string()});
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - t0;
    std::cerr << "cloud appliance bundle made in " << took.count() << " s\n";
    return dir;
}

}  // namespace

TEST_CASE("install's cloud-init options: the seed in the context, refusals, and the hook remaking it",
          "[integration][cloud-init]")
{
    CloudEnv env;
    const auto bundle = make_sample_bundle(env.scratch / "bundle");
    const auto key = make_key(env, "alice");
    const auto user_data = env.scratch / "user-data";
    write_file(user_data, "#cloud-config\nruncmd:\n  - echo hello\n");

    SECTION("refusals leave no domain and no context behind")
    {
        const auto name = unique_name("ci-bad");
        const auto private_key = env.scratch / "alice";
        const auto not_a_key = env.scratch / "not-a-key";
        write_file(not_a_key, "hello world\n");
        const auto big = env.scratch / "big";
        write_file(big, "#cloud-config\n" + std::string(1 << 20, '#'));
        const auto meta = env.scratch / "meta";
        write_file(meta, "instance-id: mine\n");
        const std::vector<std::pair<std::vector<std::string>, std::pair<int, std::string>>> cases{
            {{"--ssh-key", (env.scratch / "missing.pub").string()}, {7, "cannot read --ssh-key"}},
            {{"--ssh-key", private_key.string()}, {2, "private key"}},
            {{"--ssh-key", not_a_key.string()}, {2, "public key type"}},
            {{"--user-data", big.string()}, {2, "larger than 1024 KiB"}},
            {{"--meta-data", meta.string()}, {2, "which appshare sets itself"}},
        };
        for (const auto& [args, expect] : cases) {
            std::vector<std::string> argv{"install", bundle.dir.string(), "--name", name};
            argv.insert(argv.end(), args.begin(), args.end());
            const auto r = run_appshare(argv);
            INFO(r.output);
            check_one_sentence(r);
            CHECK(r.status == expect.first);
            CHECK(has(r.output, expect.second));
            CHECK_FALSE(fs::exists(env.contexts / name));
            CHECK(run({"virsh", "-q", "domstate", name}).status != 0);
        }
    }
    SECTION("a seed with a key, user-data and a password: private files, a CD-ROM, no secret anywhere else")
    {
        const auto name = unique_name("ci-ok");
        const auto out = appshare_ok({"install", bundle.dir.string(), "--name", name, "--ssh-key", key.string(),
                                      "--user-data", user_data.string(), "--password-generate"});
        std::smatch m;
        REQUIRE(std::regex_search(out, m, std::regex("password:  (\\S+) ")));
        const std::string password = m[1].str();
        const auto ctx = env.contexts / name;
        CHECK(mode_of(ctx / "cloud-init") == 0700);
        for (const char* f : {"user-data", "meta-data"}) CHECK(mode_of(ctx / "cloud-init" / f) == 0600);
        CHECK(mode_of(ctx / "seed.iso") == 0600);
        const auto seed_user = read_file(ctx / "cloud-init/user-data");
        CHECK(seed_user.find(password) == std::string::npos);
        CHECK(has(seed_user, "password: \"$6$"));
        CHECK(has(seed_user, "runcmd:\n  - echo hello\n"));
        const auto uuid = run_ok({"virsh", "-q", "domuuid", name}).substr(0, 36);
        const auto meta = run_ok({"isoinfo", "-R", "-x", "/meta-data", "-i", (ctx / "seed.iso").string()});
        CHECK(has(meta, "instance-id: \"" + uuid + "\"\nlocal-hostname: \"" + name + "\"\n"));
        CHECK(has(meta, read_file(key).substr(0, 60)));
        CHECK(has(run_ok({"isoinfo", "-d", "-i", (ctx / "seed.iso").string()}), "Volume id: cidata"));

        const auto xml = dumpxml(name);
        CHECK(has(xml, "<disk type='file' device='cdrom'>"));
        CHECK(has(xml, "<source file='" + (ctx / "seed.iso").string() + "'/>"));
        CHECK(has(xml, "<readonly/>"));
        CHECK(has(xml, "ds=nocloud;h=" + name + ";i=" + uuid));
        const auto list = appshare_ok({"list", "--json"});
        const auto j = nlohmann::json::parse(list);
        bool listed = false;
        for (const auto& i : j["instances"]) {
            if (i["name"] == name) {
                listed = true;
                CHECK(i["cloud_init_seed"] == true);
            }
        }
        CHECK(listed);
        for (const auto& text : {xml, list, appshare_ok({"list"})}) {
            CHECK(text.find(password) == std::string::npos);
            CHECK(text.find("$6$") == std::string::npos);
            CHECK(text.find(read_file(key).substr(12, 40)) == std::string::npos);
        }

        // The hook makes a deleted seed again at the start, from the files the context keeps.
        const auto before = read_file(ctx / "seed.iso");
        reload_hooks();
        fs::remove(ctx / "seed.iso");
        const auto started = run({"virsh", "-q", "start", name});
        INFO(started.output << "\n" << env.hook_log_text());
        REQUIRE(started.status == 0);
        CHECK(read_file(ctx / "seed.iso") == before);
        // While it runs, libvirt's DAC driver has handed the seed to QEMU's user (as the
        // overlay); after the stop the hook gives it back to root, still 0600.
        struct stat st {};
        REQUIRE(::stat((ctx / "seed.iso").c_str(), &st) == 0);
        CHECK(st.st_uid != 0);
        CHECK(has(env.hook_log_text(), "made the cloud-init seed " + (ctx / "seed.iso").string() + " again"));
        const auto log = env.hook_log_text();
        CHECK(log.find(password) == std::string::npos);
        CHECK(log.find("$6$") == std::string::npos);
        run_ok({"virsh", "-q", "destroy", name});
        for (int i = 0; i < 50 && ::stat((ctx / "seed.iso").c_str(), &st) == 0 && st.st_uid != 0; ++i) {
            std::this_thread::sleep_for(100ms);  // the release hook runs after virsh destroy returns
        }
        CHECK(st.st_uid == 0);
        CHECK(st.st_gid == 0);
        CHECK(mode_of(ctx / "seed.iso") == 0600);
    }
    SECTION("without cloud-init options: no seed and no CD-ROM")
    {
        const auto name = unique_name("ci-none");
        appshare_ok({"install", bundle.dir.string(), "--name", name});
        CHECK_FALSE(fs::exists(env.contexts / name / "seed.iso"));
        CHECK_FALSE(fs::exists(env.contexts / name / "cloud-init"));
        CHECK_FALSE(has(dumpxml(name), "cdrom"));
        const auto j = nlohmann::json::parse(appshare_ok({"list", "--json"}));
        for (const auto& i : j["instances"]) {
            if (i["name"] == name) CHECK(i["cloud_init_seed"] == false);
        }
    }
}

TEST_CASE("a real Debian cloud-init guest: two instances, each its own host name, key and user-data",
          "[integration][cloud-init][guest]")
{
    CloudEnv env;
    const auto t_all = std::chrono::steady_clock::now();
    const auto bundle_user_data = env.scratch / "bundle-user-data";
    write_file(bundle_user_data,
               "#cloud-config\nruncmd:\n  - [sh, -c, 'echo \"appshare-ci-marker bundle host=$(hostname)\" > /dev/console']\n");
    const auto bundle = cloud_bundle(env, bundle_user_data);
    const auto own_user_data = env.scratch / "own-user-data";
    write_file(own_user_data,
               "#cloud-config\nruncmd:\n  - [sh, -c, 'echo \"appshare-ci-marker own host=$(hostname)\" > /dev/console']\n");

    struct Guest {
        std::string name, marker;
        fs::path key;
        fs::path serial_log;
    };
    std::vector<Guest> guests{{unique_name("ci-a"), "bundle", make_key(env, "key-a"), {}},
                              {unique_name("ci-b"), "own", make_key(env, "key-b"), {}}};
    for (auto& g : guests) {
        g.serial_log = "/var/log/libvirt/qemu/" + g.name + "-serial.log";
        std::vector<std::string> argv{"install", bundle.string(), "--name", g.name, "--virt-type", "qemu", "--ssh-key",
                                      g.key.string()};
        // a: the bundle's default user-data; b: its own, which replaces it.
        if (g.marker == "own") argv.insert(argv.end(), {"--user-data", own_user_data.string()});
        appshare_ok(argv);
    }
    reload_hooks();
    const auto t_start = std::chrono::steady_clock::now();
    for (const auto& g : guests) run_ok({"virsh", "-q", "start", g.name});

    const auto given = env_text("APPSHARE_CLOUD_BOOT_TIMEOUT");
    const double timeout = given.empty() ? 360 : std::stod(given);
    for (std::size_t i = 0; i < guests.size(); ++i) {
        const auto& g = guests[i];
        const auto& other = guests[1 - i];
        const std::string marker = "appshare-ci-marker " + g.marker + " host=" + g.name;
        const std::string fingerprint = console_fingerprint(g.key);
        const auto deadline = t_start + std::chrono::duration<double>(timeout);
        std::string log;
        for (;;) {
            log = fs::exists(g.serial_log) ? read_file(g.serial_log) : "";
            if (has(log, marker) && has(log, fingerprint)) break;
            if (std::chrono::steady_clock::now() > deadline) break;
            std::this_thread::sleep_for(1s);
        }
        const std::chrono::duration<double> took = std::chrono::steady_clock::now() - t_start;
        std::cerr << "cloud-init guest " << g.name << ": checked " << took.count() << " s after the starts\n";
        INFO("serial console of " << g.name << ":\n" << log << "\nhook log:\n" << env.hook_log_text());
        CHECK(has(log, marker));                       // its user-data ran, with its host name
        CHECK(has(log, fingerprint));                  // its own key authorised ...
        CHECK_FALSE(has(log, console_fingerprint(other.key)));  // ... and not the other's
        CHECK_FALSE(has(log, "appshare-ci-marker " + other.marker));
    }
    for (const auto& g : guests) run({"virsh", "-q", "destroy", g.name});
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - t_all;
    std::cerr << "cloud-init guest test: " << took.count() << " s\n";
}
