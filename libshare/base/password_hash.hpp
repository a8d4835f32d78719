// Passwords appshare makes for a guest (install --password-generate): a random password shown
// once, and the only form that is ever stored, its SHA-512 crypt hash ("$6$salt$…", crypt(3)
// from libxcrypt, as /etc/shadow holds it and cloud-init accepts).
#pragma once

#include "base/result.hpp"

#include <string>
#include <string_view>

namespace appshare {

// A random password of `length` letters and digits (no look-alikes: 0 O 1 l I), from getrandom.
[[nodiscard]] std::string generate_password(std::size_t length = 20);

// The SHA-512 crypt hash of `password` with a fresh random salt. Internal when crypt fails.
[[nodiscard]] Result<std::string> sha512_crypt(std::string_view password);

// Whether `hash` verifies `password` (for tests and checks).
[[nodiscard]] bool crypt_matches(std::string_view password, const std::string& hash);

}  // namespace appshare
