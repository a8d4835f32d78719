#include "base/json_text.hpp"

#include <catch2/catch.hpp>

using namespace appshare;

TEST_CASE("json_text writes text that is not UTF-8 as U+FFFD instead of throwing", "[json_text]")
{
    const nlohmann::json j = {{"reason", std::string("bad \xff\xfe bytes")}, {"ok", "caf\xc3\xa9"}};
    CHECK_THROWS(j.dump());  // what it replaces
    std::string text;
    REQUIRE_NOTHROW(text = json_text(j));
    CHECK(text == "{\"ok\":\"caf\xc3\xa9\",\"reason\":\"bad \xef\xbf\xbd\xef\xbf\xbd bytes\"}");
    CHECK(nlohmann::json::parse(text)["reason"] == "bad \xef\xbf\xbd\xef\xbf\xbd bytes");
    CHECK(json_text(j, 2).find("\n  \"ok\"") != std::string::npos);
}
