// appshare install is all or nothing: a taken name, a corrupt bundle, an unwritable shared
// root, a libvirt refusal, a left-over context and Ctrl-C during the base copy each exit
// non-zero with one sentence and leave no context, no domain and no partial base behind; an
// existing domain of that name is never touched. (A base published complete may stay: it is
// shared and verified.)
#include "support/install_env.hpp"
#include "virt/domain.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <thread>

#include <sys/stat.h>

namespace fs = std::filesystem;
using namespace appshare;
using namespace appshare::test;

namespace {

// Nothing of instance `name` is left: no domain, no context; no temporary file of a load; and
// any base in the store is complete.
void check_nothing_left(const InstallEnv& env, const Connection& conn, const std::string& name,
                        const SampleBundle& bundle)
{
    CHECK_FALSE(domain_exists(conn, name));
    CHECK_FALSE(fs::exists(fs::symlink_status(env.context(name))));
    CHECK(env.part_files().empty());
    for (const auto& base : env.shared_files(".qcow2")) CHECK(openssl_sha256(base) == bundle.sha256);
}

// Makes the bundle's domain one libvirt refuses to define: there is no aarch64 emulator here.
void make_libvirt_refuse(const SampleBundle& bundle)
{
    REQUIRE_FALSE(fs::exists("/usr/bin/qemu-system-aarch64"));
    auto manifest = sample_manifest(bundle);
    manifest.replace(manifest.find("<arch>x86_64</arch>"), 19, "<arch>aarch64</arch>");
    write_manifest(bundle, manifest);
}

}  // namespace

TEST_CASE("install leaves nothing behind when it fails", "[install][rollback][integration]")
{
    InstallEnv env;
    const auto bundle = env.sample_bundle();
    const Connection& conn = env.conn;
    const auto name = unique_name("fail");

    SECTION("a name taken by another domain: refused, that domain untouched, nothing loaded")
    {
        auto dom = define_domain(conn, foreign_domain_xml(name));
        REQUIRE(dom.has_value());
        const auto before = domain_xml(*dom, DomainXmlKind::Inactive).value();
        const auto r = run_appshare({"install", bundle.dir.string(), "--name", name});
        check_one_sentence(r);
        CHECK(r.status == 10);
        CHECK(has(r.output, name));
        auto still = lookup_domain(conn, name);
        REQUIRE(still.has_value());
        CHECK(domain_xml(*still, DomainXmlKind::Inactive).value() == before);
        CHECK_FALSE(fs::exists(env.context(name)));
        CHECK(env.shared_files(".qcow2").empty());
        REQUIRE(undefine_domain(*still).has_value());
    }

    SECTION("a name taken by an appshare instance: refused, that instance's context untouched")
    {
        appshare_ok({"install", bundle.dir.string(), "--name", name});
        struct stat before {};
        REQUIRE(::stat((env.context(name) / "disk.qcow2").c_str(), &before) == 0);
        const auto r = run_appshare({"install", bundle.dir.string(), "--name", name});
        check_one_sentence(r);
        CHECK(r.status == 10);
        struct stat after {};
        REQUIRE(::stat((env.context(name) / "disk.qcow2").c_str(), &after) == 0);
        CHECK(after.st_ino == before.st_ino);
        CHECK(after.st_mtim.tv_nsec == before.st_mtim.tv_nsec);
        CHECK(domain_exists(conn, name));
    }

    SECTION("a context directory left over under that name: refused and kept")
    {
        fs::create_directories(env.context(name));
        write_file(env.context(name) / "keep-me", "x");
        const auto r = run_appshare({"install", bundle.dir.string(), "--name", name});
        check_one_sentence(r);
        CHECK(r.status == 10);
        CHECK(fs::exists(env.context(name) / "keep-me"));
        CHECK_FALSE(domain_exists(conn, name));
    }

    SECTION("a corrupt bundle: refused before anything is made")
    {
        flip_byte(bundle.image, bundle.image_bytes - 1, 0x5a);
        const auto r = run_appshare({"install", bundle.dir.string(), "--name", name});
        check_one_sentence(r);
        CHECK(r.status == 5);
        CHECK(has(r.output, "SHA-256"));
        check_nothing_left(env, conn, name, bundle);
        CHECK(env.shared_files(".qcow2").empty());
    }

    SECTION("an unwritable shared root: refused, nothing made")
    {
        fs::create_directories(env.shared);
        run_ok({"mount", "--bind", env.shared.string(), env.shared.string()});
        run_ok({"mount", "-o", "remount,bind,ro", env.shared.string()});
        const auto r = run_appshare({"install", bundle.dir.string(), "--name", name});
        run_ok({"umount", env.shared.string()});
        check_one_sentence(r);
        CHECK(r.status == 7);
        CHECK(has(r.output, env.shared.string()));
        check_nothing_left(env, conn, name, bundle);
        CHECK(env.shared_files(".qcow2").empty());
    }

    SECTION("libvirt refuses the domain: context removed, the published base may stay")
    {
        make_libvirt_refuse(bundle);
        const auto r = run_appshare({"install", bundle.dir.string(), "--name", name});
        check_one_sentence(r);
        CHECK(r.status == 8);
        check_nothing_left(env, conn, name, bundle);
        CHECK(fs::is_empty(env.contexts));
    }

    SECTION("libvirt refuses the domain on a host with pools: the pool does not list its overlay")
    {
        // The pools are refreshed beside the define, so they saw the overlay before libvirt
        // refused the domain; install refreshes them again once it removed the context.
        const auto other = unique_name("kept");
        appshare_ok({"install", bundle.dir.string(), "--name", other});
        const std::string pool = env.settings().context_pool;
        REQUIRE(has(run_ok({"virsh", "vol-list", pool}), other + ".qcow2"));
        make_libvirt_refuse(bundle);
        const auto r = run_appshare({"install", bundle.dir.string(), "--name", name});
        check_one_sentence(r);
        CHECK(r.status == 8);
        check_nothing_left(env, conn, name, bundle);
        const auto listed = run_ok({"virsh", "vol-list", pool});
        INFO(listed);
        CHECK_FALSE(has(listed, name + ".qcow2"));
        CHECK(has(listed, other + ".qcow2"));
        CHECK_FALSE(fs::exists(fs::symlink_status(env.contexts / ".volumes" / (name + ".qcow2"))));
    }
}

TEST_CASE("Ctrl-C during the base copy leaves nothing behind", "[install][rollback][integration]")
{
    InstallEnv env;
    const auto bundle = env.sample_bundle(SampleOptions::sized(1ULL << 30, 512ULL << 20));
    const Connection& conn = env.conn;
    const auto name = unique_name("ctrlc");

    const pid_t pid = spawn({appshare_bin().string(), "install", bundle.dir.string(), "--name", name}, "/dev/null",
                            env.scratch / "log");
    // Wait for the copy to start (its temporary file appears), then interrupt it.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    bool copying = false;
    while (!copying && std::chrono::steady_clock::now() < deadline) {
        copying = !env.part_files().empty();
        if (!copying) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    REQUIRE(copying);
    REQUIRE(::kill(pid, SIGINT) == 0);
    const int status = wait_status(pid);

    RunResult r{status, read_file(env.scratch / "log")};
    check_one_sentence(r);
    CHECK(status == 130);
    CHECK(has(r.output, "interrupted"));
    check_nothing_left(env, conn, name, bundle);
    CHECK(env.shared_files(".qcow2").empty());
    // The lock is free: the next install goes through.
    appshare_ok({"install", bundle.dir.string(), "--name", name});
    CHECK(env.shared_files(".qcow2").size() == 1);
}
