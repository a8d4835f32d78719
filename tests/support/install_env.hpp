// Header-only helpers for the install/uninstall/list integration tests (inside
// scripts/libvirt-sandbox.sh): a private appshare configuration with roots under the sandbox's
// /var/lib/libvirt/images, a startup binary for install to register, running the `appshare`
// command, and looking at what is left on disk and in libvirt.
#pragma once

#include "support/config_file.hpp"
#include "support/sample_bundle.hpp"
#include "support/sandbox.hpp"
#include "support/test_support.hpp"
#include "virt/connection.hpp"
#include "virt/domain.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <sys/stat.h>

namespace appshare::test {

// A configuration of its own for each use (sections re-run in the same sandbox), a scratch
// folder for bundles, and a connection to the private libvirtd.
struct InstallEnv {
    std::filesystem::path sandbox = sandbox_dir();  // (fails the test outside the sandbox)
    std::filesystem::path root = std::filesystem::path("/var/lib/libvirt/images") / unique_name("appshare-test");
    std::filesystem::path shared = root / "shared";
    std::filesystem::path contexts = root / "contexts";
    std::filesystem::path local = root / "local";
    // This host's verification records of shared files (instance/stores.hpp).
    std::filesystem::path shared_records = local / "verified-shared";
    std::filesystem::path config = root / "appshare.conf";
    std::filesystem::path hook;     // the startup binary install registers
    TempDir scratch;
    Connection conn = connect_sandbox();

    // The settings written to `config`. Storage pools of their own per env (sections re-run in
    // one sandbox, each with other roots: one default-named pool would warn at every command).
    [[nodiscard]] Config settings() const
    {
        Config s;
        s.shared_root = shared;
        s.context_root = contexts;
        s.local_root = local;
        s.lock_wait = std::chrono::seconds(5);
        s.shared_pool = root.filename().string() + "-shared";
        s.context_pool = root.filename().string() + "-contexts";
        return s;
    }

    InstallEnv()
    {
        write_config_file(config, settings());
        ::setenv("APPSHARE_CONFIG", config.c_str(), 1);
        const std::string built = APPSHARE_TEST_HOOK_BIN;
        if (!built.empty()) {
            hook = built;
        } else {
            hook = root / "hook.sh";
            write_file(hook, "#!/bin/sh\ncat >/dev/null\nexit 0\n");
            ::chmod(hook.c_str(), 0755);
        }
        ::setenv("APPSHARE_HOOK_BIN", hook.c_str(), 1);
    }

    // A sample bundle in scratch/<dir>.
    [[nodiscard]] SampleBundle sample_bundle(const SampleOptions& options = {}, const std::string& dir = "bundle") const
    {
        return make_sample_bundle(scratch / dir, options);
    }

    // Files in the shared store whose names end with `suffix` (e.g. ".qcow2").
    [[nodiscard]] std::vector<std::filesystem::path> shared_files(const std::string& suffix = "") const
    {
        std::vector<std::filesystem::path> out;
        std::error_code ec;
        for (const auto& e : std::filesystem::directory_iterator(shared, ec)) {
            const auto n = e.path().filename().string();
            if (n.size() >= suffix.size() && n.compare(n.size() - suffix.size(), suffix.size(), suffix) == 0) {
                out.push_back(e.path());
            }
        }
        std::sort(out.begin(), out.end());
        return out;
    }

    // Temporary files of interrupted loads (".<sha>.<kind>.part-…").
    [[nodiscard]] std::vector<std::filesystem::path> part_files() const
    {
        std::vector<std::filesystem::path> out;
        for (const auto& p : shared_files()) {
            if (has(p.filename().string(), ".part-")) out.push_back(p);
        }
        return out;
    }

    [[nodiscard]] std::filesystem::path context(const std::string& name) const { return contexts / name; }
};

// Runs the appshare command with `args`.
inline RunResult run_appshare(const std::vector<std::string>& args)
{
    std::vector<std::string> argv{appshare_bin().string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv);
}

inline std::string appshare_ok(const std::vector<std::string>& args)
{
    auto r = run_appshare(args);
    INFO("appshare output:\n" << r.output);
    REQUIRE(r.status == 0);
    return r.output;
}

// A failed command's output is one line "appshare: <one sentence>."
inline void check_one_sentence(const RunResult& r)
{
    INFO("appshare output:\n" << r.output);
    CHECK(r.status != 0);
    CHECK(r.output.rfind("appshare: ", 0) == 0);
    CHECK(std::count(r.output.begin(), r.output.end(), '\n') == 1);
    CHECK(r.output.size() > 2);
    CHECK(r.output[r.output.size() - 2] == '.');
}

inline bool domain_exists(const Connection& conn, const std::string& name)
{
    return lookup_domain(conn, name).has_value();
}

// What `virsh dumpxml FROM`, a new name and no uuid (libvirt makes one) give: the definition
// of a second domain that still carries FROM's appshare metadata and disk.
inline std::string renamed_definition(const Connection& conn, const std::string& from, const std::string& to)
{
    auto dom = lookup_domain(conn, from);
    REQUIRE(dom.has_value());
    auto xml = domain_xml(*dom, DomainXmlKind::Inactive);
    REQUIRE(xml.has_value());
    std::string x = *xml;
    const auto name = "<name>" + from + "</name>";
    const auto at = x.find(name);
    REQUIRE(at != std::string::npos);
    x.replace(at, name.size(), "<name>" + to + "</name>");
    const auto uuid = x.find("<uuid>");
    REQUIRE(uuid != std::string::npos);
    x.erase(uuid, x.find("</uuid>") + 7 - uuid);
    return x;
}

}  // namespace appshare::test
