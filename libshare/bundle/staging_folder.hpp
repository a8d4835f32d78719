// A folder for work in progress beside an output (".<output name>.part-XXXXXX", same
// filesystem, so the result is renamed into place), removed with everything in it unless
// released: what the bundle writer and the OVF import build in, so a failure or Ctrl-C leaves
// nothing behind.
#pragma once

#include "base/result.hpp"

#include <filesystem>

namespace appshare {

class StagingFolder {
public:
    // Creates the folder (0700) beside `output`. Errors: Io naming the output's folder.
    [[nodiscard]] static Result<StagingFolder> create_beside(const std::filesystem::path& output);

    StagingFolder(StagingFolder&& o) noexcept : path_(std::move(o.path_)) { o.path_.clear(); }
    StagingFolder& operator=(StagingFolder&&) = delete;
    StagingFolder(const StagingFolder&) = delete;
    StagingFolder& operator=(const StagingFolder&) = delete;
    ~StagingFolder();

    [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }
    // The folder stays (it was renamed into place).
    void release() noexcept { path_.clear(); }

private:
    explicit StagingFolder(std::filesystem::path p) : path_(std::move(p)) {}
    std::filesystem::path path_;
};

}  // namespace appshare
