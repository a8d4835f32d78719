// The private libvirtd every integration test runs next to (scripts/libvirt-sandbox.sh): its
// scratch directory, a connection to it, waiting for it after a reload, and a domain appshare
// did not make. Header-only; only the integration tests include it (it uses the libvirt layer).
#pragma once

#include "support/test_support.hpp"
#include "virt/connection.hpp"
#include "virt/domain.hpp"
#include "virt/libvirt_error.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

namespace appshare::test {

// The sandbox's scratch directory ($APPSHARE_SANDBOX); fails the test outside the sandbox.
inline std::filesystem::path sandbox_dir()
{
    const std::string dir = env_text("APPSHARE_SANDBOX");
    INFO("integration tests run inside scripts/libvirt-sandbox.sh, which sets APPSHARE_SANDBOX");
    REQUIRE_FALSE(dir.empty());
    return dir;
}

// The private libvirtd at the default URI.
inline Connection connect_sandbox()
{
    silence_libvirt_stderr();
    auto conn = open_connection("");
    INFO((conn ? std::string() : conn.error().message));
    REQUIRE(conn.has_value());
    return std::move(conn).value();
}

// After the private libvirtd was told to reload (SIGHUP) by `who`: waits until it answers again.
inline void wait_for_reloaded_libvirtd(const std::string& who)
{
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    for (int i = 0; i < 100; ++i) {
        if (run({"virsh", "-q", "version"}).status == 0) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    FAIL("the private libvirtd did not answer after " << who);
}

// A small domain appshare did not make (no metadata, no disk).
inline std::string foreign_domain_xml(const std::string& name)
{
    return "<domain type='qemu'><name>" + name +
           "</name><memory unit='MiB'>32</memory><vcpu>1</vcpu>"
           "<os><type arch='x86_64'>hvm</type></os><devices/></domain>";
}

// Defines a domain from `xml` (it must succeed).
inline Domain define(const Connection& conn, const std::string& xml)
{
    auto dom = define_domain(conn, xml);
    INFO((dom ? std::string() : dom.error().message));
    REQUIRE(dom);
    return std::move(dom).value();
}

// The domain's state (it must be readable).
inline DomainState state_of(const Domain& dom)
{
    auto s = domain_state(dom);
    REQUIRE(s);
    return *s;
}

}  // namespace appshare::test
