// storage_pools: the pool XML appshare defines and reads back (no daemon).
#include "virt/storage_pools.hpp"

#include "base/installed_files.hpp"

#include <catch2/catch.hpp>

using namespace appshare;

TEST_CASE("the pool XML names the pool and its folder, escaped, and reads back", "[virt][pools]")
{
    auto xml = render_pool_xml("appshare-contexts", "/var/lib/a&b <c>/.volumes", template_dir() / "pool.xml");
    REQUIRE(xml);
    CHECK_THAT(*xml, Catch::Contains("<pool type=\"dir\">") && Catch::Contains("<name>appshare-contexts</name>") &&
                         Catch::Contains("<path>/var/lib/a&amp;b &lt;c&gt;/.volumes</path>"));
    CHECK(pool_target_path(*xml) == "/var/lib/a&b <c>/.volumes");
    CHECK(pool_target_path("<pool type='dir'><name>x</name></pool>").empty());
    CHECK(pool_target_path("not xml").empty());
}

TEST_CASE("the pools cover shared_root and the contexts' volume links", "[virt][pools]")
{
    Config c;
    c.shared_root = "/s";
    c.context_root = "/c";
    CHECK(shared_pool_target(c) == "/s");
    CHECK(context_pool_target(c) == "/c/.volumes");
}
