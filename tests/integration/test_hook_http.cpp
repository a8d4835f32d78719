// http(s) sources at start: a base absent from shared storage is loaded from a real web server
// on 127.0.0.1; URLs outside allowed_url_prefixes, also as redirect targets, are refused.
#include "base/sha256.hpp"
#include "support/hook_sandbox.hpp"
#include "support/http_server.hpp"

#include <catch2/catch.hpp>

#include <filesystem>

using namespace appshare;
using namespace appshare::test;
namespace fs = std::filesystem;

TEST_CASE("a base is loaded from an allowed http source, other URLs are refused", "[hook][integration][http]")
{
    const auto root = sandbox_root("http");
    HookFixture fx(root, 2);
    auto web = HttpServer::plain(fx.source_dir);
    auto redirector = HttpServer::throttled(fx.source_dir, 1e9, root);
    fx.config.allowed_url_prefixes = {web.url(), redirector.url("ok/")};
    fx.config.allowed_source_dirs.clear();
    Connection conn = serve_hook(fx);

    SECTION("allowed: loaded over http, the domain runs") {
        const std::string name = unique_name("web");
        auto meta = fx.metadata(name);
        meta.source_files.clear();
        meta.source_urls = {web.url("base.qcow2")};
        const auto dom = define(conn, fx.domain_xml(name, meta));
        auto r = start_domain(dom);
        INFO((r ? std::string() : r.error().message));
        REQUIRE(r);
        CHECK(state_of(dom) == DomainState::Running);
        CHECK(fx.log_count("loaded " + fx.shared_base().string() + " from " + web.url("base.qcow2")) == 1);
        CHECK(*sha256_file(fx.shared_base()) == fx.base_sha);
    }
    SECTION("a URL outside the allowed prefixes is refused, and so is a redirect out of them") {
        for (const auto& url : {"http://localhost:" + std::to_string(web.port()) + "/base.qcow2",
                                redirector.url("ok/redirect?to=/elsewhere/base.qcow2")}) {
            const std::string name = unique_name("refused");
            auto meta = fx.metadata(name);
            meta.source_files.clear();
            meta.source_urls = {url};
            const auto dom = define(conn, fx.domain_xml(name, meta));
            auto r = start_domain(dom);
            REQUIRE_FALSE(r);
            INFO(r.error().message);
            CHECK_THAT(r.error().message, Catch::Contains("allowed_url_prefixes"));
            CHECK(state_of(dom) == DomainState::ShutOff);
            CHECK_FALSE(fs::exists(fx.shared_base()));
            CHECK_FALSE(fs::exists(fx.overlay(name)));
        }
    }
}
