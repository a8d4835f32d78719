#include "base/installed_files.hpp"

#include <cstdlib>
#include <system_error>

namespace appshare {

std::filesystem::path template_dir()
{
    if (const char* env = std::getenv("APPSHARE_TEMPLATE_DIR"); env != nullptr && *env != '\0') {
        return env;
    }
    std::error_code ec;
    if (std::filesystem::is_directory(APPSHARE_TEMPLATE_DIR, ec)) return APPSHARE_TEMPLATE_DIR;
    return APPSHARE_SOURCE_TEMPLATE_DIR;
}

std::filesystem::path hook_binary_path()
{
    if (const char* env = std::getenv("APPSHARE_HOOK_BIN"); env != nullptr && *env != '\0') {
        return env;
    }
    return APPSHARE_HOOK_PATH;
}

const char* appshare_version() noexcept { return APPSHARE_VERSION; }

}  // namespace appshare
