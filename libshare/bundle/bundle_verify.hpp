// appshare verify: everything that makes a bundle acceptable, in one place (install uses it too).
// Schema-valid manifest; every path inside the bundle; image header read natively and judged
// safe for a shared base (no backing file, no external data file, no encryption, declared
// format, virtual size as declared); digests of the image, boot files and cloud-init user-data streamed.
#pragma once

#include "bundle/bundle.hpp"
#include "image/image_check.hpp"
#include "bundle/manifest.hpp"
#include "base/result.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

namespace appshare {

struct VerifiedFile {
    std::string path;    // inside the bundle
    std::string sha256;
    std::uint64_t size = 0;
    bool digest_checked = false;  // false: skipped because already verified elsewhere
};

struct VerifiedBundle {
    std::filesystem::path bundle;
    bool archive = false;
    Manifest manifest;
    ImageFacts image;
    VerifiedFile image_file;
    std::optional<VerifiedFile> kernel;
    std::optional<VerifiedFile> initrd;
    std::optional<VerifiedFile> user_data;  // the manifest's <cloud-init><user-data>
};

struct VerifyOptions {
    // When it returns true for a digest, that file's full hash is skipped: its content is
    // already verified elsewhere (the shared store), so install costs no re-hash of a big base.
    std::function<bool(const std::string& sha256)> already_verified;
    bool show_progress = false;  // a progress line on stderr while hashing, when it is a terminal
};

// Verifies an opened bundle (manifest, paths, image header, digests).
[[nodiscard]] Result<VerifiedBundle> verify_bundle(const Bundle& bundle, const VerifyOptions& options = {});

// A short human summary (several lines, ending in a newline).
[[nodiscard]] std::string bundle_summary(const VerifiedBundle& v);

// The same as JSON.
[[nodiscard]] nlohmann::json bundle_summary_json(const VerifiedBundle& v);

}  // namespace appshare
