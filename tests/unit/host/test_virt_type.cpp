#include "host/virt_type.hpp"

#include <catch2/catch.hpp>

using namespace appshare;

TEST_CASE("choose_virt_type: the command line wins, auto asks whether KVM runs guests", "[virt_type]")
{
    SECTION("explicit values pass through")
    {
        CHECK(choose_virt_type("kvm", "qemu").value() == "kvm");
        CHECK(choose_virt_type("qemu", "kvm").value() == "qemu");
        CHECK(choose_virt_type("", "kvm").value() == "kvm");
    }
    SECTION("auto and nothing: TCG where KVM does not run guests, KVM where it does")
    {
        int asked = 0;
        const KvmCheck no_kvm = [&] { ++asked; return false; };
        const KvmCheck kvm = [&] { ++asked; return true; };
        CHECK(choose_virt_type("auto", "kvm", no_kvm).value() == "qemu");
        CHECK(choose_virt_type("", "auto", no_kvm).value() == "qemu");
        CHECK(choose_virt_type("", "", no_kvm).value() == "qemu");
        CHECK(choose_virt_type("", "", kvm).value() == "kvm");
        CHECK(asked == 4);
        CHECK(choose_virt_type("qemu", "", kvm).value() == "qemu");
        CHECK(asked == 4);  // an explicit choice never probes
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
