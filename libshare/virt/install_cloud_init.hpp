// The cloud-init part of `appshare install` (--ssh-key, --user-data, --meta-data,
// --network-config, --password-generate; the bundle's default user-data): reads and checks
// the inputs before anything is made, and writes the instance's seed into its new context.
// The merge rule itself is instance/cloud_init_seed.hpp's compose_seed.
#pragma once

#include "base/result.hpp"
#include "bundle/bundle.hpp"
#include "bundle/manifest.hpp"
#include "instance/cloud_init_seed.hpp"
#include "instance/context.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace appshare {

struct CloudInitOptions {
    std::vector<std::filesystem::path> ssh_keys;            // OpenSSH public key files (--ssh-key, repeatable)
    std::optional<std::filesystem::path> user_data;         // replaces the bundle's default user-data
    std::optional<std::filesystem::path> meta_data;         // extra meta-data keys
    std::optional<std::filesystem::path> network_config;    // network-config (v1 or v2), as given
    bool password_generate = false;                         // a random password for the default user
};

// What install will put in the seed, read and checked: the request for compose_seed, and the
// generated password (shown once, never stored: only its hash is in the request).
struct CloudInitPlan {
    SeedRequest request;
    std::optional<std::string> password;
    std::vector<std::string> key_fingerprints;  // SHA256 hex of each authorised key, for the summary
};

// Reads the option files (missing: Io; too large, not text, not an SSH public key: Usage) and
// the bundle's default user-data (checked against its manifest digest: DigestMismatch).
[[nodiscard]] Result<CloudInitPlan> plan_cloud_init(const CloudInitOptions& options, const Bundle& bundle,
                                                    const Manifest& manifest);

// Composes the seed for the instance and writes it into the context (nothing when the plan
// asks for none). Returns whether the instance has a seed.
[[nodiscard]] Result<bool> install_cloud_init_seed(const CloudInitPlan& plan, const ContextLayout& context,
                                                   std::string_view hostname, std::string_view instance_id);

}  // namespace appshare
