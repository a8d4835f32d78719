// The options `appshare pack` and `import` share for what goes into a bundle besides its image
// (boot files, cloud-init user-data, resources, devices), added once and turned into a
// BundleContent in one place.
#pragma once

#include "bundle/bundle_writer.hpp"
#include "base/result.hpp"

#include <CLI/CLI.hpp>

#include <optional>
#include <string>
#include <vector>

namespace appshare::cli {

struct BundleOptions {
    std::optional<std::string> description, arch, memory, overlay_size;
    std::optional<unsigned> vcpus;
    std::optional<std::string> kernel, initrd, cmdline, user_data;
    std::string network = "user";
    std::string console = "serial";
    std::vector<std::string> source_files, source_urls;
};

// Adds --description --arch --memory --vcpus --kernel --initrd --cmdline --user-data
// --overlay-size --network --console --source-file --source-url to `sub`.
void add_bundle_options(CLI::App* sub, BundleOptions& o);

// Applies the options given to `content` (what is not given stays as it is). Errors: Usage.
[[nodiscard]] Result<void> apply_bundle_options(const BundleOptions& o, BundleContent& content);

}  // namespace appshare::cli
