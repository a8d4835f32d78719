// End to end, through the user's path: the demo appliance bundle (scripts/make-demo-bundle.sh)
// installed with the built `appshare install`, the hook it registers in the private daemon's
// qemu.d/ (made visible with `appshare hook register --reload`), plain `virsh start`, and the
// guests booting under TCG to their ready line in the serial log that install names in the
// domain XML (/var/log/libvirt/qemu/<name>-serial.log, written by virtlogd, appended to).
//
// APPSHARE_DEMO_BUNDLE and APPSHARE_DEMO_BOOT_TIMEOUT (default here 180 s) as in
// support/demo_appliance.hpp.
#include "support/config_file.hpp"
#include "support/demo_appliance.hpp"
#include "support/hook_fixture.hpp"
#include "support/install_env.hpp"
#include "support/sandbox.hpp"

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace appshare::test;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// The private daemon's configuration for appshare (the hook reads /etc/appshare/appshare.conf;
// the command is pointed at the same file), with roots of its own under the sandbox's images.
struct E2eEnv {
    fs::path root, shared, contexts, local, hook_log;
    fs::path config = "/etc/appshare/appshare.conf";

    explicit E2eEnv(const std::vector<fs::path>& allowed_source_dirs = {})
    {
        sandbox_dir();  // (fails the test outside the sandbox)
        root = fs::path("/var/lib/libvirt/images") / unique_name("appshare-e2e");
        shared = root / "shared";
        contexts = root / "contexts";
        local = root / "local";
        hook_log = root / "hook.log";
        fs::create_directories(root);
        appshare::Config settings;
        settings.shared_root = shared;
        settings.context_root = contexts;
        settings.local_root = local;
        settings.lock_wait = 120s;
        settings.log = hook_log.string();
        settings.virt_type = "qemu";
        settings.allowed_source_dirs = allowed_source_dirs;
        write_config_file(config, settings);
        ::setenv("APPSHARE_CONFIG", config.c_str(), 1);
        const fs::path hook = hook_bin();
        ::setenv("APPSHARE_HOOK_BIN", hook.c_str(), 1);
    }

    [[nodiscard]] std::string hook_log_text() const
    {
        std::error_code ec;
        return fs::exists(hook_log, ec) ? read_file(hook_log) : "(no hook log)";
    }

    [[nodiscard]] int hook_log_count(const std::string& needle) const
    {
        const auto text = hook_log_text();
        int n = 0;
        for (std::size_t p = 0; (p = text.find(needle, p)) != std::string::npos; p += needle.size()) ++n;
        return n;
    }

    // Files in `dir` whose names end with `suffix`.
    [[nodiscard]] static std::vector<fs::path> files_in(const fs::path& dir, const std::string& suffix)
    {
        std::vector<fs::path> out;
        std::error_code ec;
        for (const auto& e : fs::directory_iterator(dir, ec)) {
            const auto n = e.path().filename().string();
            if (n.size() >= suffix.size() && n.compare(n.size() - suffix.size(), suffix.size(), suffix) == 0) {
                out.push_back(e.path());
            }
        }
        return out;
    }
};

fs::path serial_log(const std::string& name) { return "/var/log/libvirt/qemu/" + name + "-serial.log"; }

std::string file_or(const fs::path& p, const std::string& otherwise)
{
    std::error_code ec;
    return fs::exists(p, ec) ? read_file(p) : otherwise;
}

// Everything worth seeing when a guest did not come up.
std::string diagnostics(const E2eEnv& env, const std::string& name)
{
    auto qemu_log = file_or("/var/log/libvirt/qemu/" + name + ".log", "(none)");
    if (qemu_log.size() > 4000) qemu_log = "..." + qemu_log.substr(qemu_log.size() - 4000);
    return "domain " + name + " (" + run({"virsh", "-q", "domstate", name}).output + ")\n--- serial log " +
           serial_log(name).string() + ":\n" + file_or(serial_log(name), "(none)") + "\n--- hook log " +
           env.hook_log.string() + ":\n" + env.hook_log_text() + "\n--- libvirt's qemu log:\n" + qemu_log;
}

std::uintmax_t log_size(const std::string& name)
{
    std::error_code ec;
    const auto n = fs::file_size(serial_log(name), ec);
    return ec ? 0 : n;
}

// Every ready line in the guest's serial log so far.
std::vector<ReadyLine> ready_lines(const std::string& name)
{
    static const std::regex line_re(R"(appshare-demo ready host=(\S+) instance=(\S+) app=(\S+) boots=([0-9]+)\r?)");
    std::vector<ReadyLine> out;
    std::istringstream log(file_or(serial_log(name), ""));
    std::smatch m;
    for (std::string line; std::getline(log, line);) {
        if (std::regex_match(line, m, line_re)) out.push_back({m[1].str(), m[2].str(), m[3].str(), std::stoi(m[4].str()), 0});
    }
    return out;
}

struct Start : Boot {
    RunResult result;  // of `virsh start`
};

// `virsh start` of every name at once, one thread each (no Catch2 assertions in the threads).
std::vector<Start> start_parallel(const std::vector<std::string>& names)
{
    std::vector<Start> starts(names.size());
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < names.size(); ++i) {
        starts[i].name = names[i];
        starts[i].serial_log = serial_log(names[i]);
        starts[i].offset = log_size(names[i]);
    }
    for (auto& s : starts) {
        threads.emplace_back([&s] {
            s.t0 = Clock::now();
            s.result = run({"virsh", "-q", "start", s.name});
        });
    }
    for (auto& t : threads) t.join();
    return starts;
}

// Waits for the guest's next ready line after the start; fails the test with the serial log,
// the hook log and libvirt's log on a start failure or when wait_ready() does.
ReadyLine wait_ready(const E2eEnv& env, const Start& s)
{
    const auto& name = s.name;
    {
        INFO("virsh start " << name << " failed:\n" << s.result.output << "\n" << diagnostics(env, name));
        REQUIRE(s.result.status == 0);
    }
    const auto show = [&] { return diagnostics(env, name); };
    const auto r = appshare::test::wait_ready(s, boot_timeout_seconds(180), show);
    std::cerr << "e2e: " << name << " ready after " << r.seconds << " s: host=" << r.host << " instance=" << r.instance
              << " app=" << r.app << " boots=" << r.boots << "\n";
    return r;
}

std::string domuuid(const std::string& name)
{
    auto out = run_ok({"virsh", "-q", "domuuid", name});
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    return out;
}

void install(const DemoBundle& b, const std::string& name)
{
    const auto out = appshare_ok({"install", b.dir.string(), "--name", name, "--virt-type", "qemu"});
    INFO(out);
    CHECK(has(out, "Installed '" + name + "'"));
}

// As a user would after the first install: make the running daemon see the hook, then wait
// until it answers again.
void reload_hooks()
{
    const auto out = appshare_ok({"hook", "register", "--reload"});
    INFO(out);
    CHECK(has(out, "reloaded libvirtd"));
    wait_for_reloaded_libvirtd("appshare hook register --reload");
}

std::string json_text(const fs::path& p, const char* key)
{
    const auto j = nlohmann::json::parse(read_file(p));
    return j.contains(key) ? j[key].get<std::string>() : "";
}

void destroy(const std::string& name) { run_ok({"virsh", "-q", "destroy", name}); }

struct stat stat_of(const fs::path& p)
{
    struct stat st {};
    REQUIRE(::stat(p.c_str(), &st) == 0);
    return st;
}

// `dir` read-only for everyone in the sandbox's mount namespace (the daemon and its hook too)
// while this lives: a bind mount of itself, remounted read-only.
class ReadOnlyMount {
public:
    explicit ReadOnlyMount(fs::path dir) : dir_(std::move(dir))
    {
        run_ok({"mount", "--bind", dir_.string(), dir_.string()});
        mounted_ = true;
        run_ok({"mount", "-o", "remount,bind,ro", dir_.string()});
    }
    ReadOnlyMount(const ReadOnlyMount&) = delete;
    ReadOnlyMount& operator=(const ReadOnlyMount&) = delete;
    ~ReadOnlyMount() { release(); }
    void release()
    {
        if (mounted_ && ::umount2(dir_.c_str(), MNT_DETACH) != 0) {
            std::cerr << "e2e: cannot unmount " << dir_ << "\n";
        }
        mounted_ = false;
    }

private:
    fs::path dir_;
    bool mounted_ = false;
};

// Inodes (device, inode) the process `pid` has open.
std::vector<std::pair<dev_t, ino_t>> open_files_of(long pid)
{
    std::vector<std::pair<dev_t, ino_t>> out;
    std::error_code ec;
    for (const auto& fd : fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
        struct stat st {};
        if (::stat(fd.path().c_str(), &st) == 0) out.emplace_back(st.st_dev, st.st_ino);
    }
    return out;
}

bool holds_open(const std::vector<std::pair<dev_t, ino_t>>& open, const struct stat& st)
{
    return std::find(open.begin(), open.end(), std::pair{st.st_dev, st.st_ino}) != open.end();
}

}  // namespace

TEST_CASE("e2e: three demo instances boot from one shared base with their own identities", "[integration][e2e]")
{
    TempDir scratch;
    const auto bundle = demo_bundle(scratch);
    E2eEnv env;
    const std::vector<std::string> names = {unique_name("e2e-a"), unique_name("e2e-b"), unique_name("e2e-c")};
    for (const auto& n : names) install(bundle, n);
    reload_hooks();

    // Exactly one base in the shared store, named by its digest, with the bundle's content.
    const auto bases = E2eEnv::files_in(env.shared, ".qcow2");
    REQUIRE(bases.size() == 1);
    const fs::path base = bases.front();
    CHECK(base == env.shared / (bundle.sha256 + ".qcow2"));
    const std::string digest_before = openssl_sha256(base);
    REQUIRE(digest_before == bundle.sha256);
    const auto base_inode = stat_of(base).st_ino;
    // The boot files are kept host-local too, for a boot as an independent entity when the
    // shared storage does not answer.
    CHECK(E2eEnv::files_in(env.local, ".kernel").size() == 1);
    CHECK(E2eEnv::files_in(env.local, ".initrd").size() == 1);
    CHECK(E2eEnv::files_in(env.local, ".qcow2").empty());
    // What libvirt's DAC driver would change if it relabelled them: owner, mode, ctime. The base
    // is named with relabel='no'; kernel and initrd are booted from the host-local copies.
    const auto shared_files = [&] {
        std::vector<fs::path> files{base};
        for (const char* kind : {".kernel", ".initrd"}) {
            for (const auto& f : E2eEnv::files_in(env.shared, kind)) files.push_back(f);
        }
        return files;
    }();
    REQUIRE(shared_files.size() == 3);
    const auto label = [](const fs::path& p) {
        const auto st = stat_of(p);
        return std::to_string(st.st_uid) + ":" + std::to_string(st.st_gid) + " " + std::to_string(st.st_mode & 07777) +
               " ctime " + std::to_string(st.st_ctim.tv_sec) + "." + std::to_string(st.st_ctim.tv_nsec);
    };
    std::vector<std::string> labels_before;
    for (const auto& f : shared_files) labels_before.push_back(label(f));

    // First boots, in parallel: each its own hostname (= name) and instance-id (= domain UUID).
    const auto starts = start_parallel(names);
    std::set<std::string> hosts, ids;
    for (const auto& s : starts) {
        const auto r = wait_ready(env, s);
        INFO(diagnostics(env, s.name));
        CHECK(r.host == s.name);
        CHECK(r.instance == domuuid(s.name));
        CHECK(r.app == bundle.version);
        CHECK(r.boots == 1);
        hosts.insert(r.host);
        ids.insert(r.instance);
        CHECK(backing_of(env.contexts / s.name / "disk.qcow2") == base.string());
        CHECK(json_text(env.contexts / s.name / "instance.json", "mode") == "shared");
    }
    CHECK(hosts.size() == 3);
    CHECK(ids.size() == 3);
    // While they run: no shared file was relabelled; the boot links resolve to host-local copies,
    // which libvirt hands to QEMU's user (and back at stop).
    for (std::size_t i = 0; i < shared_files.size(); ++i) {
        INFO(shared_files[i]);
        CHECK(label(shared_files[i]) == labels_before[i]);
    }
    for (const char* link : {"vmlinuz", "initrd.img"}) {
        const auto target = fs::read_symlink(env.contexts / names[0] / link);
        INFO(link << " -> " << target);
        CHECK(target.parent_path() == env.local);
        CHECK(stat_of(target).st_uid != 0);
    }

    // A hard stop and a second boot of the first: its writes persisted in its context.
    destroy(names[0]);
    const auto again = start_parallel({names[0]});
    const auto r2 = wait_ready(env, again[0]);
    CHECK(r2.host == names[0]);
    CHECK(r2.instance == domuuid(names[0]));
    CHECK(r2.boots == 2);
    // The others booted once: one ready line each, boots=1.
    for (const auto& n : {names[1], names[2]}) {
        const auto lines = ready_lines(n);
        INFO(diagnostics(env, n));
        REQUIRE(lines.size() == 1);
        CHECK(lines[0].boots == 1);
        CHECK(lines[0].host == n);
    }
    {
        const auto lines = ready_lines(names[0]);
        REQUIRE(lines.size() == 2);
        CHECK(lines[0].boots == 1);
        CHECK(lines[1].boots == 2);
    }
    for (const auto& n : names) destroy(n);

    // The hook prepared every start on the shared base, which is unchanged and still the only one.
    INFO(env.hook_log_text());
    CHECK(env.hook_log_count("prepared on " + base.string() + " (shared)") == 4);
    CHECK(env.hook_log_count("loaded " + base.string() + " from") == 0);
    CHECK(E2eEnv::files_in(env.shared, ".qcow2").size() == 1);
    CHECK(openssl_sha256(base) == digest_before);
    CHECK(stat_of(base).st_ino == base_inode);
    for (std::size_t i = 0; i < shared_files.size(); ++i) {
        INFO(shared_files[i]);
        CHECK(label(shared_files[i]) == labels_before[i]);
    }
    for (const char* kind : {".kernel", ".initrd"}) {
        for (const auto& f : E2eEnv::files_in(env.local, kind)) CHECK(stat_of(f).st_uid == 0);
    }
}

TEST_CASE("e2e: demo base missing from shared storage is loaded once by the hook for three parallel starts",
          "[integration][e2e]")
{
    TempDir scratch;
    const auto bundle = demo_bundle(scratch, true);
    E2eEnv env({fs::canonical(bundle.dir / "images")});
    const std::vector<std::string> names = {unique_name("e2e-a"), unique_name("e2e-b"), unique_name("e2e-c")};
    for (const auto& n : names) install(bundle, n);
    reload_hooks();

    // The shared base (and this host's verification record of it) disappear after install.
    const fs::path base = env.shared / (bundle.sha256 + ".qcow2");
    const fs::path record = env.local / "verified-shared" / (bundle.sha256 + ".qcow2.verified");
    REQUIRE(fs::exists(base));
    REQUIRE(fs::exists(record));
    fs::remove(base);
    fs::remove(record);
    REQUIRE(E2eEnv::files_in(env.shared, ".qcow2").empty());

    const auto starts = start_parallel(names);
    for (const auto& s : starts) {
        const auto r = wait_ready(env, s);
        INFO(diagnostics(env, s.name));
        CHECK(r.host == s.name);
        CHECK(r.instance == domuuid(s.name));
        CHECK(r.boots == 1);
        CHECK(backing_of(env.contexts / s.name / "disk.qcow2") == base.string());
        CHECK(json_text(env.contexts / s.name / "instance.json", "mode") == "shared");
    }
    for (const auto& n : names) destroy(n);

    INFO(env.hook_log_text());
    CHECK(env.hook_log_count("loaded " + base.string() + " from") == 1);
    CHECK(env.hook_log_count("prepared on " + base.string() + " (shared)") == 3);
    CHECK(E2eEnv::files_in(env.shared, ".qcow2").size() == 1);
    CHECK(openssl_sha256(base) == bundle.sha256);
    CHECK((!fs::exists(env.local) || E2eEnv::files_in(env.local, ".qcow2").empty()));
}

TEST_CASE("e2e: demo instance with a damaged shared base on read-only storage boots on an independent copy",
          "[integration][e2e]")
{
    TempDir scratch;
    const auto bundle = demo_bundle(scratch, true);
    E2eEnv env({fs::canonical(bundle.dir / "images")});
    const auto name = unique_name("e2e-indep");
    install(bundle, name);
    reload_hooks();
    const fs::path base = env.shared / (bundle.sha256 + ".qcow2");
    const fs::path local_base = env.local / (bundle.sha256 + ".qcow2");
    const fs::path overlay = env.contexts / name / "disk.qcow2";
    REQUIRE(backing_of(overlay) == base.string());

    // One byte of the shared copy flipped (size kept), then the shared storage made read-only:
    // the hook can neither repair it nor publish a new copy there.
    const auto size = fs::file_size(base);
    flip_byte(base, size / 2);
    REQUIRE(fs::file_size(base) == size);
    const std::string damaged_digest = openssl_sha256(base);
    REQUIRE(damaged_digest != bundle.sha256);
    const struct stat damaged = stat_of(base);
    ReadOnlyMount read_only(env.shared);
    REQUIRE(::access(env.shared.c_str(), W_OK) != 0);

    const auto started = start_parallel({name});
    const auto r = wait_ready(env, started[0]);
    INFO(diagnostics(env, name));
    CHECK(r.host == name);
    CHECK(r.instance == domuuid(name));
    CHECK(r.boots == 1);

    // It runs as an independent entity on a verified host-local copy.
    CHECK(json_text(env.contexts / name / "instance.json", "mode") == "independent");
    CHECK(backing_of(overlay) == local_base.string());
    CHECK(openssl_sha256(local_base) == bundle.sha256);
    const auto listed = nlohmann::json::parse(appshare_ok({"list", "--json"}));
    INFO(listed.dump(2));
    bool listed_independent = false;
    for (const auto& i : listed["instances"]) {
        if (i["name"] == name) listed_independent = i["mode"] == "independent";
    }
    CHECK(listed_independent);
    CHECK(env.hook_log_count("switched to the independent copy " + local_base.string()) == 1);
    CHECK(env.hook_log_count("prepared on " + local_base.string() + " (independent)") == 1);

    // QEMU has the local copy open, not the damaged shared file; the damaged file is as it was.
    const auto qemu_pid = std::stol(read_file("/run/libvirt/qemu/" + name + ".pid"));
    const auto open = open_files_of(qemu_pid);
    CHECK(holds_open(open, stat_of(local_base)));
    CHECK_FALSE(holds_open(open, damaged));
    CHECK(stat_of(base).st_ino == damaged.st_ino);
    CHECK(openssl_sha256(base) == damaged_digest);

    SECTION("reshare after the shared storage is writable again moves it back and it boots on the shared base")
    {
        destroy(name);
        read_only.release();
        REQUIRE(::access(env.shared.c_str(), W_OK) == 0);
        const auto moved = appshare_ok({"reshare", name});
        INFO(moved);
        CHECK(has(moved, "shared base"));
        // The damaged shared copy was replaced by a verified one, and the context points at it.
        // (Not checked by inode: the damaged file is unlinked just before its replacement is
        // created, and the filesystem may hand the new file the freed inode number.)
        CHECK(openssl_sha256(base) == bundle.sha256);
        CHECK(backing_of(overlay) == base.string());
        CHECK(json_text(env.contexts / name / "instance.json", "mode") == "shared");

        const auto again = start_parallel({name});
        const auto r2 = wait_ready(env, again[0]);
        CHECK(r2.host == name);
        CHECK(r2.boots == 2);
        CHECK(env.hook_log_count("prepared on " + base.string() + " (shared)") == 1);
        const auto qemu2 = std::stol(read_file("/run/libvirt/qemu/" + name + ".pid"));
        CHECK(holds_open(open_files_of(qemu2), stat_of(base)));
        destroy(name);
        CHECK(openssl_sha256(base) == bundle.sha256);
    }
}
