// Path and source rules for what the hook reads from a domain XML: anyone allowed to define
// domains can write that XML and the hook runs as root, so every path must stay inside the
// configured roots without symlink escapes, and every source must be one the host's
// configuration allows.
#pragma once

#include "base/result.hpp"

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace appshare {

// True when `p` is `root` itself or lies below it, compared lexically component by component
// (both should be absolute and normalised; "/a/bc" is not inside "/a/b").
[[nodiscard]] bool is_within(const std::filesystem::path& p, const std::filesystem::path& root);

// Checks that `p` is absolute, normalised, strictly below `root`, and that none of its existing
// components below `root` is a symbolic link (missing components are fine: they will be
// created). `what` names the path in the message ("context directory"). ErrorCode::UnsafePath.
[[nodiscard]] Result<void> check_inside_root(const std::filesystem::path& p, const std::filesystem::path& root,
                                             std::string_view what);

// Resolves a source file named in domain metadata: it must resolve (all symlinks followed) to a
// regular file inside the resolved form of one of `allowed_dirs`. Returns the resolved path.
// ErrorCode::UnsafePath when it is outside them (or none is configured), Io when it cannot be
// resolved (missing), UnsafePath when it is not a regular file.
[[nodiscard]] Result<std::filesystem::path> resolve_allowed_source_file(
    const std::filesystem::path& p, const std::vector<std::filesystem::path>& allowed_dirs);

// Checks a source URL against the configured prefixes: scheme http or https, no user info, no
// whitespace or control characters, no "." / ".." path segment (also percent-encoded), and it
// starts with one of `prefixes` at a boundary (the prefix ends with '/', or the URL continues
// with '/', '?' or ends there). ErrorCode::UnsafePath, never repeating credentials.
[[nodiscard]] Result<void> check_allowed_url(std::string_view url, const std::vector<std::string>& prefixes);

}  // namespace appshare
