// The one set of lexical rules for a path inside a bundle, used for the member names the
// manifest gives, the names callers ask the bundle for, and the entry names of a tar archive.
// Lexical only: symlinks are the bundle reader's business (bundle/bundle.hpp).
#pragma once

#include <string>
#include <string_view>

namespace appshare {

// What a tar archive writes for directories ("./", "a//b") is harmless there; a manifest or a
// caller naming a member must write the path plainly.
enum class EmptyComponents { Refuse, Drop };

struct BundlePath {
    std::string normalized;  // the path with "." (and, when dropped, empty) components removed
    std::string problem;     // empty when the path is acceptable; else a clause: "is absolute"

    explicit operator bool() const noexcept { return problem.empty(); }
};

// Checks `name`: not empty, relative, no NUL or backslash, no ".." component, and with
// EmptyComponents::Refuse no empty component ("a//b", a trailing '/') and not naming a directory
// ("." alone, or "." as its last component). "./x" and "a/./b" are fine: they normalise to "x"
// and "a/b". With EmptyComponents::Drop an empty result means the bundle root itself.
[[nodiscard]] BundlePath check_bundle_path(std::string_view name, EmptyComponents empty);

}  // namespace appshare
