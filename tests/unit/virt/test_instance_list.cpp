// appshare list's text and JSON name the contexts kept at a migration away.
#include "virt/instance_list.hpp"

#include <catch2/catch.hpp>

using namespace appshare;

TEST_CASE("list names the contexts kept at a migration away", "[instance_list]")
{
    InstanceListing l;
    l.migrated.push_back(MigratedContext{"web1", "0b6f5cbb-7d0b-4c3e-9b35-6a0f1f2d3e4a", "host-b",
                                         "/var/lib/appshare/contexts/.migrated.web1.0b6f5cbb-7d0b-4c3e-9b35-6a0f1f2d3e4a", 4096});
    const auto text = instance_listing_text(l);
    CHECK_THAT(text, Catch::Contains("kept from a migration away: /var/lib/appshare/contexts/.migrated.web1.") &&
                         Catch::Contains("(web1, to host host-b, 4.0 KiB)") && Catch::Contains("appshare gc removes it"));
    const auto json = instance_listing_json(l);
    REQUIRE(json["migrated_contexts"].size() == 1);
    CHECK(json["migrated_contexts"][0]["to_host"] == "host-b");
    CHECK(json["migrated_contexts"][0]["bytes"] == 4096);
}
