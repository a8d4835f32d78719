// What `appshare --version` reports: appshare's own version and those of what it runs against —
// the libvirt library it is linked with, the libvirt daemon (and the QEMU it drives) when one
// answers, the QEMU on PATH, and the libxml2 loaded. Never fails and never hangs: a daemon that
// is not there, or does not answer within a few seconds, and a QEMU that is missing or stalls
// are each said in their line.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace appshare {

struct VersionQuery {
    std::string uri;  // the libvirt daemon to ask; empty: libvirt's default
    std::chrono::milliseconds daemon_timeout{3000};
    std::chrono::milliseconds qemu_timeout{3000};
};

// "major.minor.release" of a libvirt version number (1000000 * major + 1000 * minor + release).
[[nodiscard]] std::string libvirt_version_text(unsigned long long version);

// libxml2's version as loaded at run time ("2.9.14"), from its xmlParserVersion ("20914").
[[nodiscard]] std::string libxml2_runtime_version();

// The lines `appshare --version` prints, each ending in '\n'.
[[nodiscard]] std::string versions_report(const VersionQuery& query);

}  // namespace appshare
