// The demo appliance (scripts/make-demo-bundle.sh) in the integration tests: building or
// finding its bundle, reading its manifest, and waiting for a guest's ready line on its serial
// console ("appshare-demo ready host=… instance=… app=… boots=N").
//
// APPSHARE_DEMO_BUNDLE=DIR uses an already built bundle instead of building one per test case;
// APPSHARE_DEMO_BOOT_TIMEOUT=SECONDS changes the wait for a ready line. Header-only.
#pragma once

#include "support/test_support.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <functional>
#include <iostream>
#include <regex>
#include <string>
#include <thread>
#include <vector>

namespace appshare::test {

// The text of the first element <tag ...>TEXT</tag> after `from` in `xml`, or "".
inline std::string element_text(const std::string& xml, const std::string& tag, const std::string& from = "")
{
    const auto begin = from.empty() ? 0 : xml.find(from);
    if (begin == std::string::npos) return "";
    const std::regex re("<" + tag + "(\\s[^>]*)?>([^<]*)</" + tag + ">");
    std::smatch m;
    const std::string rest = xml.substr(begin);
    return std::regex_search(rest, m, re) ? m[2].str() : "";
}

struct DemoBundle {
    std::filesystem::path dir;
    std::string sha256;   // of images/base.qcow2, from the manifest
    std::string version;
};

// The demo bundle: built into scratch/bundle, or $APPSHARE_DEMO_BUNDLE. With `with_source`, the
// manifest names the bundle's own image as a <sources> file the hook may reload from (a given
// bundle is then copied into scratch and its manifest extended).
inline DemoBundle demo_bundle(const TempDir& scratch, bool with_source = false)
{
    std::filesystem::path dir = scratch / "bundle";
    const auto image = dir / "images/base.qcow2";
    const auto given = env_text("APPSHARE_DEMO_BUNDLE");
    if (!given.empty() && !with_source) {
        dir = given;
    } else if (!given.empty()) {
        run_ok({"cp", "-a", given, dir.string()});
        auto xml = read_file(dir / "appliance.xml");
        const auto at = xml.find("  </base>");
        REQUIRE(at != std::string::npos);
        REQUIRE(xml.find("<sources>") == std::string::npos);
        xml.insert(at, "    <sources>\n      <file path=\"" + image.string() + "\"/>\n    </sources>\n");
        write_file(dir / "appliance.xml", xml);
    } else {
        const auto t0 = std::chrono::steady_clock::now();
        std::vector<std::string> argv{"env", "APPSHARE_BIN=" + appshare_bin().string(), "bash",
                                      (source_dir() / "scripts/make-demo-bundle.sh").string()};
        if (with_source) argv.insert(argv.end(), {"--source-file", image.string()});
        argv.push_back(dir.string());
        run_ok(argv);
        const std::chrono::duration<double> took = std::chrono::steady_clock::now() - t0;
        std::cerr << "demo bundle built in " << took.count() << " s\n";
    }
    const auto xml = read_file(dir / "appliance.xml");
    DemoBundle b{dir, element_text(xml, "sha256", "<image "), element_text(xml, "version")};
    REQUIRE(b.sha256.size() == 64);
    REQUIRE(openssl_sha256(dir / "images/base.qcow2") == b.sha256);
    return b;
}

// How long a guest may take to its ready line: $APPSHARE_DEMO_BOOT_TIMEOUT, or `otherwise`.
inline double boot_timeout_seconds(double otherwise)
{
    const auto t = env_text("APPSHARE_DEMO_BOOT_TIMEOUT");
    return t.empty() ? otherwise : std::stod(t);
}

struct ReadyLine {
    std::string host, instance, app;
    int boots = 0;
    double seconds = 0;  // from the start to the line on the console
};

// A guest booting: its domain, the file its serial console goes to, how much of that file was
// there before the start (virtlogd appends), and when it was started.
struct Boot {
    std::string name;  // of the domain
    std::filesystem::path serial_log;
    std::uintmax_t offset = 0;
    std::chrono::steady_clock::time_point t0;
};

// Waits for the guest's next ready line after `boot.offset`; fails the test on a failure line
// from the guest, when the domain stops, or after `timeout_seconds`, showing `diagnostics()`
// (by default the serial console so far).
inline ReadyLine wait_ready(const Boot& boot, double timeout_seconds,
                            const std::function<std::string()>& diagnostics = {})
{
    static const std::regex ready(
        R"((^|\n)appshare-demo ready host=(\S+) instance=(\S+) app=(\S+) boots=([0-9]+)\r?\n)");
    static const std::regex failed(R"(appshare-demo failed: ([^\r\n]*))");
    const auto deadline = boot.t0 + std::chrono::duration<double>(timeout_seconds);
    for (int round = 0;; ++round) {
        std::error_code ec;
        auto log = std::filesystem::exists(boot.serial_log, ec) ? read_file(boot.serial_log) : "";
        log = log.size() > boot.offset ? log.substr(boot.offset) : "";
        std::smatch m;
        if (std::regex_search(log, m, ready)) {
            const std::chrono::duration<double> took = std::chrono::steady_clock::now() - boot.t0;
            return {m[2].str(), m[3].str(), m[4].str(), std::stoi(m[5].str()), took.count()};
        }
        const bool timed_out = std::chrono::steady_clock::now() >= deadline;
        const bool gone = round % 20 == 19 &&
                          !has(run({"virsh", "-q", "domstate", boot.name}).output, "running");
        if (timed_out || gone || std::regex_search(log, m, failed)) {
            FAIL((timed_out ? "no ready line within the boot timeout"
                  : gone    ? "the domain stopped before its ready line"
                            : "the guest reported: " + m[1].str())
                 << "\ndomain " << boot.name << "\n"
                 << (diagnostics ? diagnostics() : "serial console so far:\n" + log));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
}

}  // namespace appshare::test
