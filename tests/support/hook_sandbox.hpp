// Integration-test helpers for the hook, inside scripts/libvirt-sandbox.sh: register the built
// hook binary in the private /etc/libvirt/hooks/qemu.d/ and make the private libvirtd see it
// (SIGHUP), write the private /etc/appshare/appshare.conf, define and start domains.
// Header-only; only the integration tests include it (it uses the libvirt layer).
#pragma once

#include "support/config_file.hpp"
#include "support/hook_fixture.hpp"
#include "support/sandbox.hpp"
#include "support/test_support.hpp"
#include "virt/connection.hpp"
#include "virt/domain.hpp"

#include <catch2/catch.hpp>

#include <csignal>
#include <filesystem>
#include <string>

namespace appshare::test {

// Makes the private libvirtd re-read its hooks (SIGHUP) and waits until it answers again.
inline void reload_libvirtd()
{
    const auto pid = std::stol(read_file(sandbox_dir() / "libvirtd.pid"));
    REQUIRE(::kill(static_cast<pid_t>(pid), SIGHUP) == 0);
    wait_for_reloaded_libvirtd("SIGHUP");
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

// The fixture's configuration as the hook's /etc/appshare/appshare.conf.
inline void write_config(const HookFixture& fx) { write_config_file(kDefaultConfigPath, fx.config); }

// The usual start of a hook test: the fixture's configuration written, the hook registered, and
// a connection to the private libvirtd.
inline Connection serve_hook(const HookFixture& fx)
{
    write_config(fx);
    register_hook();
    return connect_sandbox();
}

// Fixture roots in the sandbox's private /var/lib/libvirt/images, new at every call.
inline std::filesystem::path sandbox_root(const std::string& stem)
{
    const auto p = std::filesystem::path("/var/lib/libvirt/images") / unique_name(stem);
    std::filesystem::create_directories(p);
    return p;
}

}  // namespace appshare::test
