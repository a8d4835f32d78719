#include "virt/versions.hpp"

#include "base/bounded_call.hpp"
#include "base/error.hpp"
#include "base/installed_files.hpp"
#include "base/process.hpp"
#include "base/text.hpp"
#include "virt/connection.hpp"
#include "virt/libvirt_error.hpp"

#include <libvirt/libvirt.h>
#include <libxml/parser.h>

#include <charconv>

namespace appshare {
namespace {

std::string describe(std::string_view uri) { return uri.empty() ? std::string("libvirt's default URI") : std::string(uri); }

// Asked in a child process that is abandoned when it does not answer in time (a daemon that
// accepts the connection but never replies would otherwise hang --version).
std::string daemon_line(const VersionQuery& q)
{
    BoundedOptions o;
    o.stall = q.daemon_timeout;
    o.what = "the libvirt daemon at " + describe(q.uri);
    auto answer = bounded_call(
        [&q](const LineFn&) -> std::string {
            silence_libvirt_stderr();
            auto conn = open_connection(q.uri);
            if (!conn) return "not reachable (" + message_what_failed(conn.error().message) + ")";
            unsigned long lib = 0;
            unsigned long hv = 0;
            std::string s;
            if (virConnectGetLibVersion(conn->get(), &lib) == 0) s = libvirt_version_text(lib) + " at " + connection_uri(*conn);
            if (virConnectGetVersion(conn->get(), &hv) == 0 && hv != 0) s += ", driving QEMU " + libvirt_version_text(hv);
            return s.empty() ? std::string("answers but gives no version") : s;
        },
        o);
    if (!answer) return "no answer (" + message_clause(answer.error().message) + ")";
    return *answer;
}

std::string qemu_line(const VersionQuery& q)
{
    for (const char* program : {"qemu-system-x86_64", "qemu-img"}) {
        if (!find_program(program)) continue;
        RunOptions o;
        o.deadline = q.qemu_timeout;
        o.max_output = 4096;
        auto out = run_program({program, "--version"}, o);
        if (!out) continue;
        if (out->end != RunEnd::Exited || out->status != 0) {
            return std::string(program) + " --version gave no answer within " +
                   std::to_string(q.qemu_timeout.count()) + " ms";
        }
        const auto first = out->output.substr(0, out->output.find('\n'));
        return printable(std::string(trim(first)));
    }
    return "not found (neither qemu-system-x86_64 nor qemu-img is on PATH)";
}

}  // namespace

std::string libvirt_version_text(unsigned long long version)
{
    return std::to_string(version / 1000000) + "." + std::to_string(version / 1000 % 1000) + "." +
           std::to_string(version % 1000);
}

std::string libxml2_runtime_version()
{
    const std::string_view v = xmlParserVersion != nullptr ? xmlParserVersion : "";
    unsigned long long n = 0;
    const auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc{} || v.empty()) return "unknown";
    return std::to_string(n / 10000) + "." + std::to_string(n / 100 % 100) + "." + std::to_string(n % 100);
}

std::string versions_report(const VersionQuery& q)
{
    unsigned long lib = 0;
    const std::string library = virGetVersion(&lib, nullptr, nullptr) == 0 ? libvirt_version_text(lib) : "unknown";
    std::string s = std::string("appshare ") + appshare_version() + "\n";
    s += "libvirt library " + library + "; daemon: " + daemon_line(q) + "\n";
    s += "QEMU: " + qemu_line(q) + "\n";
    s += "libxml2 " + libxml2_runtime_version() + "\n";
    return s;
}

}  // namespace appshare
