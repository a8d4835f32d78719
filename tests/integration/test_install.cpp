// appshare install against the private libvirtd: N instances of one bundle cost one shared base
// plus N thin overlays; the guests run on them without changing the base; a second install
// with the base present copies and re-hashes nothing; --lazy leaves loading to the hook; the
// domain XML carries user text escaped; the hook is registered and the reload advice is right.
#include "instance/instance_metadata.hpp"
#include "instance/domain_xml.hpp"
#include "support/install_env.hpp"
#include "virt/domain.hpp"
#include "virt/libvirt_string.hpp"

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <chrono>

#include <libvirt/libvirt.h>
#include <sys/stat.h>

namespace fs = std::filesystem;
using namespace appshare;
using namespace appshare::test;

namespace {

nlohmann::json image_info(const fs::path& image)
{
    return nlohmann::json::parse(run_ok({"qemu-img", "info", "-U", "--output=json", image.string()}));
}

InstanceMetadata metadata_of(const Connection& conn, const std::string& name)
{
    auto dom = lookup_domain(conn, name);
    REQUIRE(dom.has_value());
    auto xml = domain_xml(*dom, DomainXmlKind::Inactive);
    REQUIRE(xml.has_value());
    auto meta = read_instance_metadata(*xml, name);
    REQUIRE(meta.has_value());
    REQUIRE(meta->has_value());
    return **meta;
}

std::string libvirt_text(const Connection& conn, const std::string& name, int type)
{
    auto dom = lookup_domain(conn, name);
    REQUIRE(dom.has_value());
    LibvirtString text(virDomainGetMetadata(dom->get(), type, nullptr, VIR_DOMAIN_AFFECT_CONFIG));
    REQUIRE(text != nullptr);
    return text.get();
}

std::string trim_line(std::string s)
{
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
}

struct stat stat_of(const fs::path& p)
{
    struct stat st {};
    REQUIRE(::stat(p.c_str(), &st) == 0);
    return st;
}

}  // namespace

TEST_CASE("three instances of one bundle share one base and run on it", "[install][integration]")
{
    InstallEnv env;
    const auto bundle = env.sample_bundle();
    const Connection& conn = env.conn;
    const std::vector<std::string> names = {unique_name("web"), unique_name("web"), unique_name("web")};

    for (const auto& n : names) appshare_ok({"install", bundle.dir.string(), "--name", n});

    // Exactly one base on shared storage, named by its digest, read-only, with the bundle's content.
    const auto bases = env.shared_files(".qcow2");
    REQUIRE(bases.size() == 1);
    const fs::path base = bases[0];
    CHECK(base == env.shared / (bundle.sha256 + ".qcow2"));
    CHECK((stat_of(base).st_mode & 07777) == 0444);
    CHECK(openssl_sha256(base) == bundle.sha256);
    CHECK(env.part_files().empty());

    // Three overlays, each backed by it (through the context's link `base`) with the backing
    // format recorded; three domains.
    for (const auto& n : names) {
        INFO(n);
        const auto overlay = env.context(n) / "disk.qcow2";
        const auto info = image_info(overlay);
        CHECK(info["format"] == "qcow2");
        CHECK(info["backing-filename"] == (env.context(n) / "base").string());
        CHECK(fs::read_symlink(env.context(n) / "base") == base);
        CHECK(info["backing-filename-format"] == "qcow2");
        CHECK(info["virtual-size"] == bundle.virtual_size);
        CHECK(fs::file_size(overlay) < (1u << 20));
        REQUIRE(domain_exists(conn, n));
        const auto meta = metadata_of(conn, n);
        CHECK(meta.base.sha256 == bundle.sha256);
        CHECK(meta.base.path == base);
        CHECK(meta.overlay == overlay);
        CHECK(meta.context_dir == env.context(n));
        const auto state = nlohmann::json::parse(read_file(env.context(n) / "instance.json"));
        CHECK(state["mode"] == "shared");
        CHECK(state["reason"] == "installed");
        CHECK(state["base"] == base.string());
        // Identity: hostname = NAME, instance-id = the domain UUID, as the NoCloud SMBIOS serial.
        auto dom = lookup_domain(conn, n);
        const std::string uuid = domain_uuid(*dom).value();
        CHECK(has(domain_xml(*dom, DomainXmlKind::Inactive).value(), "ds=nocloud;h=" + n + ";i=" + uuid + "<"));
        // The chain is spelled out: the link, never relabelled by libvirt, and nothing below it.
        CHECK(backing_chain_spelled_out(domain_xml(*dom, DomainXmlKind::Inactive).value(), overlay, env.context(n) / "base"));
    }

    // Each starts through libvirt (TCG; the blank base leaves it in SeaBIOS) and runs.
    const auto base_inode = stat_of(base).st_ino;
    for (const auto& n : names) {
        INFO(n);
        auto dom = lookup_domain(conn, n);
        auto started = start_domain(*dom);
        INFO((started ? std::string() : started.error().message));
        REQUIRE(started.has_value());
        CHECK(domain_state(*dom).value() == DomainState::Running);
    }
    const auto listed = nlohmann::json::parse(appshare_ok({"list", "--json"}));
    for (const auto& n : names) {
        auto dom = lookup_domain(conn, n);
        REQUIRE(destroy_domain(*dom).has_value());
    }
    CHECK(openssl_sha256(base) == bundle.sha256);
    CHECK(stat_of(base).st_ino == base_inode);

    // list saw the three running on one base.
    REQUIRE(listed["instances"].size() == 3);
    for (const auto& i : listed["instances"]) {
        CHECK(i["state"] == "running");
        CHECK(i["mode"] == "shared");
        CHECK(i["base_sha256"] == bundle.sha256);
        CHECK(i["appliance"] == "sample");
        CHECK(i["version"] == "1.0");
    }
    REQUIRE(listed["bases"].size() == 1);
    CHECK(listed["bases"][0]["instances"] == 3);

    // Uninstalling one leaves the others and the base.
    appshare_ok({"uninstall", names[1]});
    CHECK_FALSE(domain_exists(conn, names[1]));
    CHECK_FALSE(fs::exists(env.context(names[1])));
    for (const auto& n : {names[0], names[2]}) {
        CHECK(domain_exists(conn, n));
        CHECK(fs::exists(env.context(n) / "disk.qcow2"));
    }
    CHECK(openssl_sha256(base) == bundle.sha256);
    CHECK(stat_of(base).st_ino == base_inode);
    // The remaining two still start on it.
    auto dom = lookup_domain(conn, names[2]);
    REQUIRE(start_domain(*dom).has_value());
    CHECK(domain_state(*dom).value() == DomainState::Running);
    REQUIRE(destroy_domain(*dom).has_value());
}

TEST_CASE("a second install with the base present copies and re-hashes nothing", "[install][integration]")
{
    InstallEnv env;
    const auto bundle = env.sample_bundle(SampleOptions::sized(512ULL << 20, 256ULL << 20));

    const auto t0 = std::chrono::steady_clock::now();
    appshare_ok({"install", bundle.dir.string(), "--name", unique_name("first")});
    const std::chrono::duration<double> first = std::chrono::steady_clock::now() - t0;
    const fs::path base = env.shared / (bundle.sha256 + ".qcow2");
    const auto before = stat_of(base);

    // Damage the bundle's image past its header, size unchanged: a re-hash would refuse it.
    flip_byte(bundle.image, bundle.image_bytes - 1);
    const auto t1 = std::chrono::steady_clock::now();
    const auto out = appshare_ok({"install", bundle.dir.string(), "--name", unique_name("second")});
    const std::chrono::duration<double> second = std::chrono::steady_clock::now() - t1;
    CHECK(has(out, "already on shared storage, reused"));

    const auto after = stat_of(base);
    CHECK(after.st_ino == before.st_ino);
    CHECK(after.st_mtim.tv_sec == before.st_mtim.tv_sec);
    CHECK(after.st_mtim.tv_nsec == before.st_mtim.tv_nsec);
    CHECK(env.shared_files(".qcow2").size() == 1);
    INFO("first install " << first.count() << " s, second " << second.count() << " s");
    CHECK(second.count() < 1.0);
    CHECK(second.count() < first.count());
}

TEST_CASE("install's memory and vcpus options override the manifest", "[install][integration]")
{
    InstallEnv env;
    const auto bundle = env.sample_bundle();
    const Connection& conn = env.conn;
    const auto name = unique_name("sized");
    appshare_ok({"install", bundle.dir.string(), "--name", name, "--memory", "128M", "--vcpus", "2"});
    auto dom = lookup_domain(conn, name);
    REQUIRE(dom.has_value());
    const auto xml = domain_xml(*dom, DomainXmlKind::Inactive).value();
    CHECK(has(xml, "<memory unit='KiB'>131072</memory>"));
    CHECK(has(xml, ">2</vcpu>"));
    CHECK(has(xml, "<domain type='qemu'"));

    const auto bad = run_appshare({"install", bundle.dir.string(), "--name", unique_name("bad"), "--memory", "12 parsecs"});
    check_one_sentence(bad);
    CHECK(bad.status == 2);
}

TEST_CASE("names and descriptions with <, &, quotes and non-ASCII reach libvirt intact", "[install][integration]")
{
    InstallEnv env;
    SampleOptions o;
    o.description = "Ünïcødé &lt;appliance&gt; &amp; \"double\" 'single' — 日本語";
    const auto bundle = env.sample_bundle(o);
    const Connection& conn = env.conn;
    const auto name = unique_name("text");
    const std::string title = "Tïtle <b>&amp; \"quoted\" 'too' ✓";
    appshare_ok({"install", bundle.dir.string(), "--name", name, "--title", title});

    CHECK(libvirt_text(conn, name, VIR_DOMAIN_METADATA_TITLE) == title);
    // The manifest's description first, then what appshare made of it.
    CHECK_THAT(libvirt_text(conn, name, VIR_DOMAIN_METADATA_DESCRIPTION),
               Catch::StartsWith("Ünïcødé <appliance> & \"double\" 'single' — 日本語\n\nappshare instance " + name +
                                 " of sample 1.0; its context is " + env.context(name).string()));

    const auto name2 = unique_name("desc");
    const std::string desc = "line one <&>\nline two \"ü\"";
    appshare_ok({"install", bundle.dir.string(), "--name", name2, "--description", desc});
    CHECK(libvirt_text(conn, name2, VIR_DOMAIN_METADATA_DESCRIPTION) == desc);
    CHECK(libvirt_text(conn, name2, VIR_DOMAIN_METADATA_TITLE) == name2 + " — sample 1.0");
}

TEST_CASE("virt-manager tells instances of one appliance apart by their titles", "[install][integration]")
{
    InstallEnv env;
    const auto bundle = env.sample_bundle();
    const auto a = unique_name("web");
    const auto b = unique_name("web");
    appshare_ok({"install", bundle.dir.string(), "--name", a, "--lazy"});
    appshare_ok({"install", bundle.dir.string(), "--name", b, "--lazy"});
    // What virt-manager's main window lists: the title libvirt returns.
    const auto title_a = trim_line(run_ok({"virsh", "desc", "--title", a}));
    const auto title_b = trim_line(run_ok({"virsh", "desc", "--title", b}));
    CHECK(title_a == a + " — sample 1.0");
    CHECK(title_b == b + " — sample 1.0");
    CHECK(title_a != title_b);
    CHECK_THAT(run_ok({"virsh", "desc", a}), Catch::Contains("appshare instance " + a + " of sample 1.0"));
}

TEST_CASE("a lazy install leaves loading the base to the hook, with a source it can load from", "[install][integration]")
{
    InstallEnv env;
    const auto bundle = env.sample_bundle();
    const Connection& conn = env.conn;

    SECTION("a directory bundle: its image is the source, nothing is copied")
    {
        const auto name = unique_name("lazy");
        const auto out = appshare_ok({"install", bundle.dir.string(), "--name", name, "--lazy"});
        CHECK(env.shared_files(".qcow2").empty());
        CHECK(has(out, "loaded by the hook at the first start"));
        CHECK(has(out, "allowed_source_dirs"));
        const auto meta = metadata_of(conn, name);
        const auto image = fs::canonical(bundle.image);
        REQUIRE_FALSE(meta.source_files.empty());
        CHECK(meta.source_files.front() == image.string());
        CHECK(meta.base.path == env.shared / (bundle.sha256 + ".qcow2"));
        const auto info = image_info(env.context(name) / "disk.qcow2");
        CHECK(info["backing-filename"] == (env.context(name) / "base").string());
        CHECK(fs::read_symlink(env.context(name) / "base") == meta.base.path);
        CHECK(info["backing-filename-format"] == "qcow2");
    }

    SECTION("an archive without <sources> is refused and leaves nothing")
    {
        const auto tar = env.scratch / "bundle.tar";
        run_ok({"tar", "-C", bundle.dir.string(), "-cf", tar.string(), "."});
        const auto name = unique_name("lazytar");
        const auto r = run_appshare({"install", tar.string(), "--name", name, "--lazy"});
        check_one_sentence(r);
        CHECK(r.status == 2);
        CHECK(has(r.output, "--lazy"));
        CHECK_FALSE(domain_exists(conn, name));
        CHECK_FALSE(fs::exists(env.context(name)));
    }
}

TEST_CASE("install registers the hook in qemu.d and says how to make libvirt see it", "[install][hook][integration]")
{
    InstallEnv env;
    const auto bundle = env.sample_bundle();
    const Connection& conn = env.conn;
    const fs::path link = "/etc/libvirt/hooks/qemu.d/appshare";

    SECTION("registered, with reload advice until the daemon is reloaded")
    {
        const auto out = appshare_ok({"install", bundle.dir.string(), "--name", unique_name("hooked")});
        REQUIRE(fs::is_symlink(link));
        CHECK(fs::equivalent(link, env.hook));
        CHECK(has(out, "systemctl reload libvirtd"));
        CHECK(has(out, "kill -HUP "));

        const auto reload = appshare_ok({"hook", "register", "--reload"});
        CHECK(has(reload, "already registered"));
        CHECK(has(reload, "reloaded libvirtd"));
        const auto again = appshare_ok({"hook", "register"});
        CHECK_FALSE(has(again, "systemctl reload"));
        // libvirtd survived its reload and answers.
        auto after = open_connection("");
        REQUIRE(after.has_value());
        const auto out2 = appshare_ok({"install", bundle.dir.string(), "--name", unique_name("hooked")});
        CHECK_FALSE(has(out2, "systemctl reload"));
    }

    SECTION("someone else's qemu.d/appshare is never overwritten, and nothing is installed")
    {
        fs::create_directories(link.parent_path());
        fs::remove(link);  // (write_file would write through our own link into the hook binary)
        write_file(link, "#!/bin/sh\n# not ours\n");
        const auto name = unique_name("foreign");
        const auto r = run_appshare({"install", bundle.dir.string(), "--name", name});
        check_one_sentence(r);
        CHECK(r.status == 10);
        CHECK(read_file(link) == "#!/bin/sh\n# not ours\n");
        CHECK_FALSE(domain_exists(conn, name));
        CHECK_FALSE(fs::exists(env.context(name)));
        fs::remove(link);
    }
}
