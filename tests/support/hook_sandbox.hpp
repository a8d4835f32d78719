// Integration-test helpers for the hook, inside scripts/libvirt-sandbox.sh: register the built
// hook binary in the private /etc/libvirt/hooks/qemu.d/ and make the private libvirtd see it
// (SIGHUP), write the private /etc/appshare/appshare.conf, define and start domains.
// Header-only; only the integration tests include it (it uses the libvirt layer).
#pragma once

#include "support/hook_fixture.hpp"
#include "support/test_support.hpp"
#include "virt/connection.hpp"
#include "virt/domain.hpp"
#include "virt/libvirt_error.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

#include <unistd.h>

namespace appshare::test {

inline std::filesystem::path sandbox_dir()
{
    const char* dir = std::getenv("APPSHARE_SANDBOX");
    INFO("integration tests run inside scripts/libvirt-sandbox.sh, which sets APPSHARE_SANDBOX");
    REQUIRE(dir != nullptr);
    return dir;
}

inline Connection connect_default()
{
    silence_libvirt_stderr();
    auto conn = open_connection("");
    INFO((conn ? std::string() : conn.error().message));
    REQUIRE(conn);
    return std::move(conn).value();
}

// Makes the private libvirtd re-read its hooks (SIGHUP) and waits until it answers again.
inline void reload_libvirtd()
{
    const auto pid = std::stol(read_file(sandbox_dir() / "libvirtd.pid"));
    REQUIRE(::kill(static_cast<pid_t>(pid), SIGHUP) == 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    for (int i = 0; i < 100; ++i) {
        if (run({"virsh", "-q", "version"}).status == 0) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    FAIL("the private libvirtd did not answer after SIGHUP");
}

// Symlinks the hook binary into qemu.d/ (as install registers it) and reloads the daemon.
inline void register_hook()
{
    const std::filesystem::path dir = "/etc/libvirt/hooks/qemu.d";
    std::filesystem::create_directories(dir);
    std::error_code ec;
    std::filesystem::remove(dir / "appshare", ec);
    std::filesystem::create_symlink(hook_bin(), dir / "appshare");
    reload_libvirtd();
}

inline void write_config(const HookFixture& fx)
{
    std::filesystem::create_directories("/etc/appshare");
    write_file("/etc/appshare/appshare.conf", fx.config_text());
}

// Fixture roots in the sandbox's private /var/lib/libvirt/images, new at every call.
inline std::filesystem::path sandbox_root(const std::string& stem)
{
    const auto p = std::filesystem::path("/var/lib/libvirt/images") / unique_name(stem);
    std::filesystem::create_directories(p);
    return p;
}

inline Domain define(const Connection& conn, const std::string& xml)
{
    auto dom = define_domain(conn, xml);
    INFO((dom ? std::string() : dom.error().message));
    REQUIRE(dom);
    return std::move(dom).value();
}

inline DomainState state_of(const Domain& dom)
{
    auto s = domain_state(dom);
    REQUIRE(s);
    return *s;
}

}  // namespace appshare::test
