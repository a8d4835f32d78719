#include "hook/hook_log.hpp"

#include "support/test_support.hpp"

#include <catch2/catch.hpp>

using namespace appshare;

TEST_CASE("the hook log tags each line with the domain", "[hook_log]")
{
    test::TempDir dir;
    const auto file = dir / "hook.log";
    {
        HookLog log(file.string(), "web1");
        log.info("loaded base");
        log.warning("switched");
    }
    const auto text = test::read_file(file);
    CHECK_THAT(text, Catch::Contains("info: domain web1: loaded base\n"));
    CHECK_THAT(text, Catch::Contains("warning: domain web1: switched\n"));
    CHECK_THAT(text, Catch::Contains("appshare-hook["));
    // Appends, never truncates.
    HookLog(file.string(), "web2").error("x");
    CHECK_THAT(test::read_file(file), Catch::Contains("loaded base") && Catch::Contains("domain web2: x"));
}
