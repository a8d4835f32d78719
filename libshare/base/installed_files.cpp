#include "base/installed_files.hpp"

#include <cstdlib>
#include <string>
#include <system_error>

#include <dlfcn.h>

namespace appshare {
namespace {

std::filesystem::path from_env_or(const char* variable, const std::filesystem::path& relative_to_core)
{
    if (const char* env = std::getenv(variable); env != nullptr && *env != '\0') return env;
    return (core_library_dir() / relative_to_core).lexically_normal();
}

}  // namespace

std::filesystem::path core_library_dir()
{
    // dladdr() names the file this object was loaded from: libappshare-core, wherever it is.
    static const char anchor = 0;
    Dl_info info{};
    if (::dladdr(&anchor, &info) == 0 || info.dli_fname == nullptr) return {};
    std::error_code ec;
    auto real = std::filesystem::canonical(info.dli_fname, ec);
    return ec ? std::filesystem::path(info.dli_fname).parent_path() : real.parent_path();
}

std::filesystem::path template_dir()
{
    return from_env_or("APPSHARE_TEMPLATE_DIR", std::filesystem::path(APPSHARE_LIB_TO_DATA) / "appshare/xml-templates");
}

std::filesystem::path hook_binary_path()
{
    return from_env_or("APPSHARE_HOOK_BIN", std::filesystem::path(APPSHARE_LIB_TO_LIBEXEC) / "appshare/appshare-hook");
}

const char* appshare_version() noexcept { return APPSHARE_VERSION; }

}  // namespace appshare
