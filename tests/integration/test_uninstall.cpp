// appshare uninstall: removes the domain and its context, never a shared base; refuses a
// running instance unless --force, and a domain appshare did not make (as reshare does).
#include "support/install_env.hpp"
#include "virt/domain.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>

namespace fs = std::filesystem;
using namespace appshare;
using namespace appshare::test;

TEST_CASE("uninstall removes the instance and never the shared base", "[uninstall][integration]")
{
    InstallEnv env;
    const auto bundle = env.sample_bundle();
    const Connection& conn = env.conn;
    const auto name = unique_name("gone");
    appshare_ok({"install", bundle.dir.string(), "--name", name});
    const fs::path base = env.shared / (bundle.sha256 + ".qcow2");
    struct stat before {};
    REQUIRE(::stat(base.c_str(), &before) == 0);

    SECTION("a stopped instance: domain and context go, the base stays")
    {
        const auto out = appshare_ok({"uninstall", name});
        CHECK(has(out, base.string()));
        CHECK_FALSE(domain_exists(conn, name));
        CHECK_FALSE(fs::exists(env.context(name)));
        struct stat after {};
        REQUIRE(::stat(base.c_str(), &after) == 0);
        CHECK(after.st_ino == before.st_ino);
        CHECK(openssl_sha256(base) == bundle.sha256);
        // A second uninstall finds nothing.
        const auto again = run_appshare({"uninstall", name});
        check_one_sentence(again);
        CHECK(again.status == 11);
    }

    SECTION("a running instance is refused without --force and stopped with it")
    {
        auto dom = lookup_domain(conn, name);
        REQUIRE(start_domain(*dom).has_value());
        const auto refused = run_appshare({"uninstall", name});
        check_one_sentence(refused);
        CHECK(refused.status == 12);
        CHECK(has(refused.output, "--force"));
        CHECK(domain_state(*dom).value() == DomainState::Running);
        CHECK(fs::exists(env.context(name) / "disk.qcow2"));

        const auto out = appshare_ok({"uninstall", name, "--force"});
        CHECK(has(out, "stopped it first"));
        CHECK_FALSE(domain_exists(conn, name));
        CHECK_FALSE(fs::exists(env.context(name)));
        CHECK(openssl_sha256(base) == bundle.sha256);
    }

    SECTION("a clone keeping another instance's metadata is refused and that context survives")
    {
        const auto clone_name = unique_name("clone");
        // As `virsh dumpxml`, editing name and uuid, and `virsh define` would make it.
        auto clone = define(conn, renamed_definition(conn, name, clone_name));
        const auto r = run_appshare({"uninstall", clone_name, "--force"});
        check_one_sentence(r);
        CHECK(r.status == static_cast<int>(ErrorCode::UnsafePath));
        CHECK(has(r.output, env.context(name).string()));
        CHECK(fs::exists(env.context(name) / "disk.qcow2"));
        CHECK(fs::exists(env.context(name) / "instance.json"));
        CHECK(domain_exists(conn, clone_name));
        CHECK(domain_exists(conn, name));
        REQUIRE(undefine_domain(clone).has_value());
        // The instance itself still uninstalls normally.
        appshare_ok({"uninstall", name});
        CHECK_FALSE(fs::exists(env.context(name)));
    }

    SECTION("a domain appshare did not make is refused and left alone")
    {
        const auto other = unique_name("foreign");
        auto dom = define_domain(conn, foreign_domain_xml(other));
        REQUIRE(dom.has_value());
        const auto r = run_appshare({"uninstall", other, "--force"});
        check_one_sentence(r);
        CHECK(r.status == 11);
        CHECK(has(r.output, "not installed by appshare"));
        // reshare refuses it with the same code and the same sentence.
        const auto reshare = run_appshare({"reshare", other});
        check_one_sentence(reshare);
        CHECK(reshare.status == 11);
        CHECK(reshare.output == r.output);
        CHECK(domain_exists(conn, other));
        REQUIRE(undefine_domain(*dom).has_value());
    }
}
