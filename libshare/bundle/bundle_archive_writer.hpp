// Writing a bundle folder as a tar archive (plain, gzip or xz by the archive's name), the form
// `appshare verify` and `install` read (bundle/bundle.hpp): regular files only, relative names,
// appliance.xml first so a reader finds the manifest at once.
#pragma once

#include "base/result.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace appshare {

// Writes `members` (relative names of regular files below `folder`, in this order) to the open
// descriptor `fd` as a tar archive compressed as `archive_name` says (.tar.gz/.tgz gzip,
// .tar.xz/.txz xz, else none). Entries are owned by 0:0, mode 0644, and dated
// $SOURCE_DATE_EPOCH when it is set (reproducible archives), else now. Stops on Ctrl-C /
// SIGTERM with Interrupted. Errors: Io naming the archive.
[[nodiscard]] Result<void> write_bundle_archive(const std::filesystem::path& folder,
                                                const std::vector<std::string>& members, int fd,
                                                const std::filesystem::path& archive_name, bool show_progress);

}  // namespace appshare
