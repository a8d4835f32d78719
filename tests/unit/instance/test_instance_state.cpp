#include "instance/instance_state.hpp"

#include "support/test_support.hpp"

#include <catch2/catch.hpp>

#include <filesystem>

using namespace appshare;
namespace fs = std::filesystem;

TEST_CASE("instance.json round-trips and is validated", "[instance_state]")
{
    SECTION("format then parse gives the same state") {
        InstanceState s{InstanceMode::Independent, "2026-01-01T00:00:00Z", "lock timeout: \"x\"", "/local/abc.qcow2", "host-a"};
        auto back = parse_instance_state(format_instance_state(s), "t");
        REQUIRE(back);
        CHECK(back->host == "host-a");
        CHECK(back->mode == InstanceMode::Independent);
        CHECK(back->since == s.since);
        CHECK(back->reason == s.reason);
        CHECK(back->base == s.base);
        CHECK(format_instance_state(s).find("\"mode\":\"independent\"") != std::string::npos);
    }
    SECTION("only mode is required") {
        auto s = parse_instance_state(R"({"mode":"shared"})", "t");
        REQUIRE(s);
        CHECK(s->mode == InstanceMode::Shared);
        CHECK(s->base.empty());
        CHECK(s->host.empty());  // written before hosts were recorded
        CHECK(format_instance_state(*s).find("host") == std::string::npos);
    }
    SECTION("bad documents name their origin") {
        for (const char* text : {"", "[]", "{}", R"({"mode":"other"})", R"({"mode":"shared","since":3})", R"({"mode":"shared","host":1})", "{"}) {
            INFO(text);
            auto s = parse_instance_state(text, "ctx/instance.json");
            REQUIRE_FALSE(s);
            CHECK(s.error().code == ErrorCode::BadManifest);
            CHECK_THAT(s.error().message, Catch::Contains("ctx/instance.json"));
        }
    }
}

TEST_CASE("instance.json is saved atomically and read back from the context", "[instance_state]")
{
    test::TempDir dir;
    SECTION("missing file: no state") {
        auto s = load_instance_state(dir.path());
        REQUIRE(s);
        CHECK_FALSE(*s);
    }
    SECTION("save then load") {
        InstanceState s{InstanceMode::Shared, "t", "installed", "/shared/x.qcow2", {}};
        REQUIRE(save_instance_state(dir.path(), s));
        auto back = load_instance_state(dir.path());
        REQUIRE(back);
        REQUIRE(*back);
        CHECK((*back)->reason == "installed");
        // Only root reads it: it is part of the instance's private context.
        CHECK(fs::status(dir / "instance.json").permissions() == (fs::perms::owner_read | fs::perms::owner_write));
    }
    SECTION("a symlink at instance.json is not followed") {
        test::write_file(dir / "elsewhere.json", R"({"mode":"shared"})");
        fs::create_symlink(dir / "elsewhere.json", dir / "instance.json");
        CHECK_FALSE(load_instance_state(dir.path()));
    }
}

TEST_CASE("instance.json errors show its mode escaped", "[instance_state]")
{
    // Found by fuzzing (tests/fuzz/fuzz_instance_state.cpp): an unknown mode was copied raw into
    // the message, so a context's owner could write escape sequences and new lines into logs.
    auto s = parse_instance_state(R"({"mode":"\u001b[2J\nforged line"})", "ctx/instance.json");
    REQUIRE_FALSE(s);
    CHECK_THAT(s.error().message, Catch::Contains("\"\\x1b[2J\\x0aforged line\""));
    CHECK(s.error().message.find_first_of("\x1b\n") == std::string::npos);
}
