#include "core/virt_type.hpp"

#include <catch2/catch.hpp>

using namespace appshare;

TEST_CASE("choose_virt_type: the command line wins, auto is TCG for now", "[virt_type]")
{
    SECTION("explicit values pass through")
    {
        CHECK(choose_virt_type("kvm", "qemu").value() == "kvm");
        CHECK(choose_virt_type("qemu", "kvm").value() == "qemu");
        CHECK(choose_virt_type("", "kvm").value() == "kvm");
    }
    SECTION("auto and nothing choose qemu (TCG)")
    {
        CHECK(choose_virt_type("auto", "kvm").value() == "qemu");
        CHECK(choose_virt_type("", "auto").value() == "qemu");
        CHECK(choose_virt_type("", "").value() == "qemu");
    }
    SECTION("unknown values are refused with the right code")
    {
        auto flag = choose_virt_type("xen", "auto");
        REQUIRE_FALSE(flag.has_value());
        CHECK(flag.error().code == ErrorCode::Usage);
        CHECK(flag.error().message.find("xen") != std::string::npos);
        auto conf = choose_virt_type("", "hvf");
        REQUIRE_FALSE(conf.has_value());
        CHECK(conf.error().code == ErrorCode::Config);
    }
}
