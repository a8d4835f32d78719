// install's name checks for many instances: --count names, and every name checked (valid, given
// once, no context directory of that name) before libvirt is asked anything.
#include "support/test_support.hpp"
#include "virt/install.hpp"

#include <catch2/catch.hpp>

#include <filesystem>

using namespace appshare;
using namespace appshare::test;

TEST_CASE("numbered_instance_names makes prefix1 .. prefixN", "[virt][install]")
{
    auto names = numbered_instance_names("web", 3);
    REQUIRE(names.has_value());
    CHECK(*names == std::vector<std::string>{"web1", "web2", "web3"});
    CHECK(numbered_instance_names("web", 0).error().code == ErrorCode::Usage);
    CHECK(numbered_instance_names("web", 10001).error().code == ErrorCode::Usage);
    CHECK(numbered_instance_names("-web", 2).error().code == ErrorCode::Usage);
    CHECK(numbered_instance_names(std::string(62, 'a'), 10).error().code == ErrorCode::Usage);
}

TEST_CASE("check_instance_names refuses a bad, repeated or taken name", "[virt][install]")
{
    TempDir root;
    Config config;
    config.context_root = root / "contexts";
    CHECK(check_instance_names(config, {"a", "b", "c"}).has_value());
    CHECK(check_instance_names(config, {}).error().code == ErrorCode::Usage);
    CHECK(check_instance_names(config, {"a", "../x"}).error().code == ErrorCode::Usage);
    const auto twice = check_instance_names(config, {"a", "b", "a"});
    REQUIRE_FALSE(twice.has_value());
    CHECK(twice.error().code == ErrorCode::Usage);
    CHECK(twice.error().message.find("'a'") != std::string::npos);
    std::filesystem::create_directories(config.context_root / "b");
    const auto taken = check_instance_names(config, {"a", "b"});
    REQUIRE_FALSE(taken.has_value());
    CHECK(taken.error().code == ErrorCode::AlreadyExists);
    CHECK(taken.error().message.find((config.context_root / "b").string()) != std::string::npos);
}
