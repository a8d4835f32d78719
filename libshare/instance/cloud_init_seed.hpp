// An instance's cloud-init NoCloud seed: what the guest's cloud-init reads at its first boot
// (user-data, meta-data, optionally network-config) on a read-only ISO 9660 volume labelled
// "cidata" (Joliet + Rock Ridge, image/iso9660_image.hpp), attached as a CD-ROM.
//
// In the context (instance/context.hpp): the seed's files in `cloud-init/` (0700, each file
// 0600: user-data can hold secrets, such as the password hash) are what the seed is made from,
// and `seed.iso` (0600, root's; libvirt's DAC driver hands it to QEMU's user at each start as it
// does the overlay) is made from them at install and again by the hook when it is missing.
//
// The merge rule (one place: compose_seed):
//   user-data   the instance's --user-data, else the bundle's default user-data, else an empty
//               #cloud-config. With a generated password, a MIME multi-part of that user-data
//               and appshare's own #cloud-config part (`password:` the SHA-512 crypt hash,
//               `chpasswd: {expire: false}`, `ssh_pwauth: true`), merged by cloud-init with
//               appshare's part winning; without other user-data, that part alone.
//   meta-data   the instance's --meta-data (a YAML block mapping), followed by appshare's keys:
//               instance-id (the domain's UUID) and local-hostname (its name), the same identity
//               the SMBIOS serial carries, and public-keys (every --ssh-key), which cloud-init
//               authorises for the default user, beside any ssh_authorized_keys of the user-data.
//               A --meta-data that sets any of these three itself is refused.
//   network-config  the instance's --network-config, as given; none otherwise.
#pragma once

#include "base/result.hpp"
#include "base/ssh_public_key.hpp"
#include "instance/context.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace appshare {

// Size caps of the inputs (what a NoCloud seed reasonably holds).
inline constexpr std::size_t kMaxUserDataBytes = 1 << 20;
inline constexpr std::size_t kMaxMetaDataBytes = 64 << 10;
inline constexpr std::size_t kMaxNetworkConfigBytes = 64 << 10;
inline constexpr std::size_t kMaxSshKeyFileBytes = 64 << 10;

// One input and where it came from (for messages: "--user-data /path", "bundle member x").
struct SeedInput {
    std::string text;
    std::string origin;
};

struct SeedRequest {
    std::optional<SeedInput> user_data;       // the instance's, else the bundle's (the caller chooses)
    std::optional<SeedInput> meta_data;
    std::optional<SeedInput> network_config;
    std::vector<SshPublicKey> ssh_keys;
    std::optional<std::string> password_hash;  // SHA-512 crypt, never the password
};

// The seed's files, as the ISO and the context hold them.
struct SeedFiles {
    std::string user_data;
    std::string meta_data;
    std::optional<std::string> network_config;
};

// Whether the request asks for a seed at all (any input, key or password).
[[nodiscard]] bool wants_seed(const SeedRequest& request);

// The seed's files by the merge rule above, for the instance `hostname` with `instance_id`.
// Usage errors name the input: too large, not text, a meta-data that sets appshare's keys or is
// not a block mapping, a user-data that cannot take a password part.
[[nodiscard]] Result<SeedFiles> compose_seed(const SeedRequest& request, std::string_view hostname,
                                             std::string_view instance_id);

// The "cidata" ISO 9660 image of `files`.
[[nodiscard]] Result<std::string> make_seed_iso(const SeedFiles& files);

// Writes the seed's files into context.seed_dir (0700, files 0600) and the ISO beside them
// (0600), each atomically. Errors: Io.
[[nodiscard]] Result<void> write_seed(const ContextLayout& context, const SeedFiles& files);

// The seed's files as the context keeps them; nullopt when the instance has no seed.
// Errors: UnsafePath (a link or not a regular file), Io, or BadManifest for a file over its cap.
[[nodiscard]] Result<std::optional<SeedFiles>> read_seed(const ContextLayout& context);

// Whether the instance has a seed (its files are in the context).
[[nodiscard]] bool has_seed(const ContextLayout& context);

// For the hook after a domain stopped: libvirt's DAC driver chowns a read-only disk to QEMU's
// user at start and never back (it cannot know whether another domain still uses it), so the
// seed, which holds the user-data, is given back to root (0600 kept). Returns true when it
// changed the owner; a missing seed is fine.
[[nodiscard]] Result<bool> reclaim_seed_iso(const ContextLayout& context);

// For the hook, under the instance lock: makes seed.iso again from the context's files when the
// instance has a seed and the ISO is missing. Returns true when it made it.
[[nodiscard]] Result<bool> restore_seed_iso(const ContextLayout& context);

}  // namespace appshare
