// appshare capture: a verified bundle from a stopped libvirt domain (any domain, not only
// appshare's). Its boot disk's whole backing chain is flattened into the new base and its
// settings read from its XML (virt/capture_plan.hpp) by the one bundle writer behind `pack`
// (bundle/bundle_writer.hpp). Refused: a domain that is not shut off, one with snapshots, and
// whatever plan_capture refuses. With `replace` the domain itself becomes an appshare instance
// of the new appliance (install, same name): its old disk is left where it was, unused, for the
// user to remove. All or nothing: if the instance cannot be installed, the old definition is
// defined again and the bundle removed.
#pragma once

#include "bundle/bundle_verify.hpp"
#include "instance/config.hpp"
#include "base/result.hpp"
#include "virt/connection.hpp"
#include "virt/install.hpp"

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace appshare {

struct CaptureRequest {
    std::string domain;
    std::filesystem::path output;         // new directory or FILE.tar[.gz|.xz]
    std::optional<std::string> name;      // default: the domain's name
    std::optional<std::string> version;   // default: "1"
    bool replace = false;
    bool show_progress = false;
    std::function<void(const std::string&)> notice;  // warnings, one line each
};

struct CaptureResult {
    VerifiedBundle bundle;
    std::vector<std::string> warnings;
    std::filesystem::path old_disk;           // the disk that was captured
    std::optional<InstallResult> replaced;    // with `replace`: the domain as an appshare instance
};

// Errors: NotFound (no such domain), DomainRunning (not shut off), Usage (snapshots, what cannot
// be captured faithfully, a domain name that is no appliance name without --name), the bundle
// writer's errors, and with `replace` install's errors (after the domain was put back).
[[nodiscard]] Result<CaptureResult> capture_domain(const Connection& conn, const Config& config,
                                                   const CaptureRequest& request);

// A few lines for the user: what was captured, the warnings, and with `replace` where the old disk is.
[[nodiscard]] std::string capture_summary(const CaptureResult& result);

}  // namespace appshare
