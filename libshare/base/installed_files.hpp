// Where appshare finds its installed data files.
#pragma once

#include <filesystem>

namespace appshare {

// The xml-templates/ directory: $APPSHARE_TEMPLATE_DIR if set, else the installed copy, else
// the source tree's copy (so a build tree works without installing).
[[nodiscard]] std::filesystem::path template_dir();

// The startup binary (hook) to register with libvirt: $APPSHARE_HOOK_BIN if set, else the
// installed path.
[[nodiscard]] std::filesystem::path hook_binary_path();

// The version of appshare, as in the project() call.
[[nodiscard]] const char* appshare_version() noexcept;

}  // namespace appshare
