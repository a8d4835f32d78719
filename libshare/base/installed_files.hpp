// Where appshare finds its installed files: relative to libappshare-core itself, as its
// libraries find one another through $ORIGIN. The build tree is laid out like an installation
// (bin/, lib/, libexec/appshare/, share/appshare/), so one rule serves both, and every program
// that uses the core (the command in bin/, the hook in libexec/appshare/, the tests) gets the
// same answer. An environment variable, if set, overrides each.
#pragma once

#include <filesystem>

namespace appshare {

// The directory libappshare-core was loaded from (its real path), e.g. /usr/lib or <build>/lib.
[[nodiscard]] std::filesystem::path core_library_dir();

// The xml-templates/ directory: $APPSHARE_TEMPLATE_DIR if set, else
// <core_library_dir>/<libdir-to-datadir>/appshare/xml-templates.
[[nodiscard]] std::filesystem::path template_dir();

// The startup binary (hook) to register with libvirt: $APPSHARE_HOOK_BIN if set, else
// <core_library_dir>/<libdir-to-libexecdir>/appshare/appshare-hook.
[[nodiscard]] std::filesystem::path hook_binary_path();

// The version of appshare, as in the project() call.
[[nodiscard]] const char* appshare_version() noexcept;

}  // namespace appshare
