// appshare install of many instances in one command (--name repeated, --count with
// --name-prefix): one base for all, every instance a context and a domain of its own; a name
// given twice or already taken is refused before anything is made; an instance that fails
// midway leaves nothing of itself and the others stay.
#include "instance/config.hpp"
#include "support/install_env.hpp"
#include "virt/domain.hpp"
#include "virt/install.hpp"

#include <catch2/catch.hpp>

namespace fs = std::filesystem;
using namespace appshare;
using namespace appshare::test;

namespace {

void check_installed(const InstallEnv& env, const Connection& conn, const std::string& name)
{
    INFO("instance " << name);
    CHECK(domain_exists(conn, name));
    CHECK(fs::is_regular_file(env.context(name) / "disk.qcow2"));
    CHECK(fs::read_symlink(env.context(name) / "base") == env.shared_files(".qcow2").at(0));
}

void check_absent(const InstallEnv& env, const Connection& conn, const std::string& name)
{
    INFO("instance " << name);
    CHECK_FALSE(domain_exists(conn, name));
    CHECK_FALSE(fs::exists(fs::symlink_status(env.context(name))));
}

}  // namespace

TEST_CASE("several --name install several instances over one base", "[install][many][integration]")
{
    InstallEnv env;
    const auto bundle = env.sample_bundle();
    const Connection& conn = env.conn;
    const std::vector<std::string> names = {unique_name("web"), unique_name("web"), unique_name("web")};

    const auto out = appshare_ok({"install", bundle.dir.string(), "--name", names[0], "--name", names[1], "--name",
                                  names[2], "--virt-type", "qemu"});
    CHECK(has(out, "Installed 3 of 3 instances"));
    REQUIRE(env.shared_files(".qcow2").size() == 1);
    CHECK(env.part_files().empty());
    for (const auto& n : names) {
        check_installed(env, conn, n);
        CHECK(has(out, n));
    }
    for (const auto& n : names) appshare_ok({"uninstall", n});
}

TEST_CASE("install with --count and --name-prefix makes prefix1 .. prefixN", "[install][many][integration]")
{
    InstallEnv env;
    const auto bundle = env.sample_bundle();
    const Connection& conn = env.conn;
    const auto prefix = unique_name("farm") + "-";

    appshare_ok({"install", bundle.dir.string(), "--count", "5", "--name-prefix", prefix, "--virt-type", "qemu"});
    for (int i = 1; i <= 5; ++i) check_installed(env, conn, prefix + std::to_string(i));
    check_absent(env, conn, prefix + "6");
    check_absent(env, conn, prefix + "0");
    for (int i = 1; i <= 5; ++i) appshare_ok({"uninstall", prefix + std::to_string(i)});

    SECTION("--count and --name together are a usage error")
    {
        const auto r = run_appshare({"install", bundle.dir.string(), "--count", "2", "--name-prefix", prefix, "--name", "x"});
        CHECK(r.status != 0);
        check_absent(env, conn, prefix + "1");
    }
}

TEST_CASE("a name given twice or already taken is refused before anything is made", "[install][many][integration]")
{
    InstallEnv env;
    const auto bundle = env.sample_bundle();
    const Connection& conn = env.conn;
    const auto a = unique_name("bulk");
    const auto b = unique_name("bulk");
    const auto c = unique_name("bulk");

    SECTION("given twice")
    {
        const auto r = run_appshare({"install", bundle.dir.string(), "--name", a, "--name", b, "--name", a});
        check_one_sentence(r);
        CHECK(r.status == 2);
        CHECK(has(r.output, a));
    }
    SECTION("a domain of that name exists (the last of three)")
    {
        auto dom = define_domain(conn, foreign_domain_xml(c));
        REQUIRE(dom.has_value());
        const auto r = run_appshare({"install", bundle.dir.string(), "--name", a, "--name", b, "--name", c});
        check_one_sentence(r);
        CHECK(r.status == 10);
        CHECK(has(r.output, c));
        CHECK(domain_exists(conn, c));
        REQUIRE(undefine_domain(*dom).has_value());
    }
    SECTION("a context directory of that name exists")
    {
        fs::create_directories(env.context(c));
        const auto r = run_appshare({"install", bundle.dir.string(), "--name", a, "--name", b, "--name", c});
        check_one_sentence(r);
        CHECK(r.status == 10);
        CHECK(fs::exists(env.context(c)));
        fs::remove(env.context(c));
    }
    // Nothing made: no domain, no context, not even the base.
    check_absent(env, conn, a);
    check_absent(env, conn, b);
    CHECK_FALSE(domain_exists(conn, c));
    CHECK(env.shared_files(".qcow2").empty());
}

TEST_CASE("an instance that fails midway leaves nothing of itself and the others stay", "[install][many][integration]")
{
    InstallEnv env;
    const auto bundle = env.sample_bundle();
    const Connection& conn = env.conn;
    const std::vector<std::string> names = {unique_name("mid"), unique_name("mid"), unique_name("mid")};
    auto config = load_config(env.config);
    REQUIRE(config.has_value());

    InstallRequest r;
    r.bundle = bundle.dir;
    r.virt_type = "qemu";
    r.hook_binary = env.hook;
    r.jobs = 1;  // one after the other, so the intruder comes between the first and the second
    std::vector<std::string> told;
    std::optional<Domain> intruder;
    // After the first instance is made, another tool defines a domain under the second name:
    // the second instance's define is refused, so its context must go again.
    auto result = install_appliances(conn, *config, r, names,
                                     [&](std::size_t done, std::size_t total, const std::string& name, const Error* failure) {
                                         CHECK(total == 3);
                                         told.push_back(std::to_string(done) + " " + name + (failure ? " failed" : ""));
                                         if (done == 1) {
                                             auto dom = define_domain(conn, foreign_domain_xml(names[1]));
                                             REQUIRE(dom.has_value());
                                             intruder = std::move(*dom);
                                         }
                                     });
    REQUIRE(result.has_value());
    CHECK(told == std::vector<std::string>{"1 " + names[0], "2 " + names[1] + " failed", "3 " + names[2]});
    REQUIRE(result->made.size() == 2);
    CHECK(result->made[0].name == names[0]);
    CHECK(result->made[1].name == names[2]);
    REQUIRE(result->failed.size() == 1);
    CHECK(result->failed[0].name == names[1]);
    CHECK(result->failed[0].error.code == ErrorCode::Libvirt);
    CHECK(has(bulk_install_summary(*result), "Failed 1 of 3"));

    check_installed(env, conn, names[0]);
    check_installed(env, conn, names[2]);
    // The failed one: no context; the intruder's domain untouched.
    CHECK_FALSE(fs::exists(fs::symlink_status(env.context(names[1]))));
    REQUIRE(intruder.has_value());
    auto still = lookup_domain(conn, names[1]);
    REQUIRE(still.has_value());
    CHECK(domain_xml(*still, DomainXmlKind::Inactive).value().find("appshare") == std::string::npos);
    REQUIRE(undefine_domain(*intruder).has_value());
    for (const auto& n : {names[0], names[2]}) appshare_ok({"uninstall", n});
}
