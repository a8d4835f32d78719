// appshare list: instances with appliance, version, state, mode, base digest and context bytes
// on disk; per base the number of instances; the storage saved against full copies.
#include "support/install_env.hpp"
#include "virt/domain.hpp"

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <sys/stat.h>

namespace fs = std::filesystem;
using namespace appshare;
using namespace appshare::test;

namespace {

// st_blocks × 512 of a directory and everything in it, counted here independently.
std::uint64_t du_bytes(const fs::path& dir)
{
    struct stat st {};
    REQUIRE(::lstat(dir.c_str(), &st) == 0);
    std::uint64_t total = static_cast<std::uint64_t>(st.st_blocks) * 512;
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
        REQUIRE(::lstat(e.path().c_str(), &st) == 0);
        total += static_cast<std::uint64_t>(st.st_blocks) * 512;
    }
    return total;
}

}  // namespace

TEST_CASE("list shows instances per base and the storage saved", "[list][integration]")
{
    InstallEnv env;
    SampleOptions a_opts;
    a_opts.name = "alpha";
    a_opts.data_bytes = 8ULL << 20;
    SampleOptions b_opts;
    b_opts.name = "beta";
    b_opts.version = "2.0";
    b_opts.data_bytes = 2ULL << 20;
    const auto a = env.sample_bundle(a_opts, "a");
    const auto b = env.sample_bundle(b_opts, "b");
    const Connection& conn = env.conn;

    SECTION("no instances: says so")
    {
        const auto out = appshare_ok({"list"});
        CHECK(has(out, "No appshare instances"));
        const auto j = nlohmann::json::parse(appshare_ok({"list", "--json"}));
        CHECK(j["instances"].empty());
        CHECK(j["storage"]["saved_bytes"] == 0);
    }

    SECTION("three of one appliance, one of another, and a foreign domain")
    {
        const std::vector<std::string> alphas = {unique_name("a"), unique_name("a"), unique_name("a")};
        const auto beta = unique_name("b");
        for (const auto& n : alphas) appshare_ok({"install", a.dir.string(), "--name", n});
        appshare_ok({"install", b.dir.string(), "--name", beta});
        const auto foreign = unique_name("foreign");
        auto dom = define_domain(conn, foreign_domain_xml(foreign));
        REQUIRE(dom.has_value());
        auto running = lookup_domain(conn, alphas[0]);
        REQUIRE(start_domain(*running).has_value());

        const auto j = nlohmann::json::parse(appshare_ok({"list", "--json"}));
        REQUIRE(j["instances"].size() == 4);
        std::uint64_t alpha_ctx = 0;
        for (const auto& i : j["instances"]) {
            const std::string n = i["name"];
            INFO(n);
            CHECK(n != foreign);
            CHECK(i["mode"] == "shared");
            CHECK(i["context_bytes"] == du_bytes(env.context(n)));
            CHECK(i["context_bytes"] > 0);
            if (n == beta) {
                CHECK(i["appliance"] == "beta");
                CHECK(i["version"] == "2.0");
                CHECK(i["base_sha256"] == b.sha256);
                CHECK(i["base_bytes"] == b.image_bytes);
                CHECK(i["state"] == "shut off");
            } else {
                CHECK(i["appliance"] == "alpha");
                CHECK(i["base_sha256"] == a.sha256);
                CHECK(i["state"] == (n == alphas[0] ? "running" : "shut off"));
                alpha_ctx += i["context_bytes"].get<std::uint64_t>();
            }
        }
        REQUIRE(j["bases"].size() == 2);
        for (const auto& base : j["bases"]) {
            if (base["sha256"] == a.sha256) {
                CHECK(base["instances"] == 3);
                CHECK(base["saved_bytes"] ==
                      static_cast<std::int64_t>(3 * a.image_bytes) - static_cast<std::int64_t>(a.image_bytes + alpha_ctx));
            } else {
                CHECK(base["sha256"] == b.sha256);
                CHECK(base["instances"] == 1);
                CHECK(base["saved_bytes"] < 0);  // one instance: its context costs more than nothing
            }
        }
        const auto& s = j["storage"];
        CHECK(s["instances"] == 4);
        CHECK(s["saved_bytes"] == s["full_copies_bytes"].get<std::int64_t>() - s["used_bytes"].get<std::int64_t>());
        CHECK(s["ratio"].get<double>() ==
              Approx(s["full_copies_bytes"].get<double>() / s["used_bytes"].get<double>()));
        CHECK(s["ratio"].get<double>() > 1.5);

        const auto text = appshare_ok({"list"});
        CHECK(has(text, alphas[1]));
        CHECK(has(text, a.sha256.substr(0, 12)));
        CHECK(has(text, "3 instances"));
        CHECK(has(text, "saved"));
        CHECK_FALSE(has(text, foreign));

        REQUIRE(destroy_domain(*running).has_value());
        REQUIRE(undefine_domain(*dom).has_value());
    }

    SECTION("metadata naming another instance's context, or '/', is shown as invalid and never walked")
    {
        const auto real = unique_name("a");
        appshare_ok({"install", a.dir.string(), "--name", real});
        // Renamed copies of its definition whose metadata names `context_dir`.
        const auto copy_as = [&](const std::string& to, const std::string& context_dir) {
            std::string x = renamed_definition(conn, real, to);
            const auto dir_attr = "dir=\"" + env.context(real).string() + "\"";
            const auto at = x.find(dir_attr);
            REQUIRE(at != std::string::npos);
            x.replace(at, dir_attr.size(), "dir=\"" + context_dir + "\"");
            return define(conn, x);
        };
        const auto clone = unique_name("clone");
        const auto rooted = unique_name("rooted");
        auto clone_dom = copy_as(clone, env.context(real).string());
        auto rooted_dom = copy_as(rooted, "/");

        const auto j = nlohmann::json::parse(appshare_ok({"list", "--json"}));
        int seen = 0;
        int valid = 0;
        for (const auto& i : j["instances"]) {
            const std::string n = i["name"];
            INFO(n);
            if (i["mode"] != "invalid metadata") ++valid;
            if (n != real && n != clone && n != rooted) continue;  // left by earlier sections
            ++seen;
            if (n == real) {
                CHECK(i["mode"] == "shared");
                CHECK(i["context_bytes"] == du_bytes(env.context(real)));
            } else {
                CHECK(i["mode"] == "invalid metadata");
                CHECK(i["context_bytes"] == 0);
                CHECK(i["state"] == "shut off");
            }
        }
        CHECK(seen == 3);
        CHECK(j["storage"]["instances"] == valid);  // rows whose context is unknown are not counted
        const auto text = appshare_ok({"list"});
        CHECK(has(text, "invalid metadata"));
        CHECK(has(text, "warning: "));
        REQUIRE(undefine_domain(clone_dom).has_value());
        REQUIRE(undefine_domain(rooted_dom).has_value());
    }
}
