// OpenSSH public keys as `ssh-keygen` writes them (`TYPE BASE64 [COMMENT]`, one per line, as in
// ~/.ssh/id_ed25519.pub or an authorized_keys file without options), read as untrusted text: a
// file that is not one (a private key given by mistake, anything else) is refused, so it never
// reaches a guest. A pure parser: no I/O.
#pragma once

#include "base/result.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace appshare {

struct SshPublicKey {
    std::string type;     // "ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", ...
    std::string base64;   // the key blob as written
    std::string comment;  // may be empty; printable ASCII only
    [[nodiscard]] std::string line() const { return type + " " + base64 + (comment.empty() ? "" : " " + comment); }
};

// Every key in `text` (blank lines and lines starting with '#' skipped; at least one key).
// Usage error naming `origin` and the line when a line is not a public key of a known type
// whose blob decodes and names the same type, when the text holds a private key, or when it has
// more than 100 keys.
[[nodiscard]] Result<std::vector<SshPublicKey>> parse_ssh_public_keys(std::string_view text, std::string_view origin);

// The SHA-256 fingerprint as cloud-init prints it on the console: lowercase hex pairs joined by ':'.
[[nodiscard]] std::string ssh_key_sha256_hex_fingerprint(const SshPublicKey& key);

}  // namespace appshare
