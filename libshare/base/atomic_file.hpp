// Files that appear complete or not at all: write to a temporary name in the same directory,
// fsync, rename over the final name, fsync the directory. A writer that makes a whole new folder
// may leave the two fsyncs to a SyncBatch it flushes once everything is written
// (base/sync_batch.hpp says when that is allowed).
#pragma once

#include "base/dir_handle.hpp"
#include "base/result.hpp"
#include "base/sync_batch.hpp"
#include "base/unique_handle.hpp"

#include <filesystem>
#include <string_view>

#include <sys/stat.h>
#include <sys/types.h>

namespace appshare {

// A temporary file next to its final name (".<name>.part-<host>-<pid>-<n>"), created with
// O_EXCL in a folder reached without links (base/dir_handle.hpp); every later step (rename,
// link, unlink, fsync) is done in that same opened folder. Unlinked on destruction unless
// commit() renamed it into place.
class TempFile {
public:
    [[nodiscard]] static Result<TempFile> create_beside(const std::filesystem::path& final_path, mode_t mode = 0600);
    [[nodiscard]] static Result<TempFile> create_in(const DirHandle& dir, std::string_view final_name, mode_t mode = 0600);
    TempFile(TempFile&& o) noexcept;
    TempFile& operator=(TempFile&&) = delete;
    TempFile(const TempFile&) = delete;
    ~TempFile();

    [[nodiscard]] int fd() const noexcept { return fd_.get(); }
    [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }

    // Writes all of `data` at the current offset (retrying short writes and EINTR).
    [[nodiscard]] Result<void> write(std::string_view data);

    // fsync, chmod to `mode`, rename onto the final name (replacing it), then check that the
    // final name is this file (the inode written, not one put there meanwhile), fsync the
    // folder. `published`, when given, receives the fstat of the file as published. With a
    // `batch`, the file and its folder are added to it instead of fsynced here.
    [[nodiscard]] Result<void> commit(mode_t mode, struct stat* published = nullptr, SyncBatch* batch = nullptr);
    // Like commit, but fails with AlreadyExists instead of replacing an existing final file.
    [[nodiscard]] Result<void> commit_no_replace(mode_t mode, SyncBatch* batch = nullptr);

private:
    TempFile(DirHandle dir, UniqueFd fd, std::string name, std::string final_name)
        : dir_(std::move(dir)), fd_(std::move(fd)), name_(std::move(name)), final_name_(std::move(final_name)),
          path_(dir_ / name_) {}
    [[nodiscard]] Result<void> finish(mode_t mode, bool replace, struct stat* published, SyncBatch* batch);
    DirHandle dir_;
    UniqueFd fd_;
    std::string name_;
    std::string final_name_;
    std::filesystem::path path_;
    bool committed_ = false;
};

// The prefix every TempFile for `final_path` starts with (to find leftovers of dead writers).
[[nodiscard]] std::string temp_prefix_for(const std::filesystem::path& final_path);

// Writes `content` to `path` atomically with `mode` (flushed by `batch` when one is given).
[[nodiscard]] Result<void> write_file_atomic(const std::filesystem::path& path, std::string_view content, mode_t mode = 0644,
                                             SyncBatch* batch = nullptr);

// fsync a directory (after a rename or unlink in it), reached without links.
[[nodiscard]] Result<void> fsync_dir(const std::filesystem::path& dir);

// mkdir -p with exactly `mode` (not reduced by the umask) for the directories it creates,
// never following a link (DirHandle::open with Create::Yes).
[[nodiscard]] Result<void> make_dirs(const std::filesystem::path& dir, mode_t mode = 0755);

}  // namespace appshare
