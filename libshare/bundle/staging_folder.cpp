#include "bundle/staging_folder.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <system_error>

namespace appshare {

Result<StagingFolder> StagingFolder::create_beside(const std::filesystem::path& output)
{
    const auto parent = output.parent_path().empty() ? std::filesystem::path(".") : output.parent_path();
    std::string name = (parent / ("." + output.filename().string() + ".part-XXXXXX")).string();
    if (::mkdtemp(name.data()) == nullptr) {
        const int err = errno;
        return make_error(ErrorCode::Io, "cannot create a folder in " + parent.string() + ": " + std::strerror(err) +
                                             "; check that the output's folder exists and is writable.");
    }
    return StagingFolder(name);
}

StagingFolder::~StagingFolder()
{
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
}

}  // namespace appshare
