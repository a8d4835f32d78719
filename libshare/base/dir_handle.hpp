// Reaching files on storage that others can write (shared storage, and the context and local
// folders the root-run hook works in) the one way appshare does: no symbolic link is followed
// anywhere in a path, and everything is done to a descriptor that was checked, not to a path
// checked a moment before.
//
// Paths are resolved with openat2(RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS): a link at any
// component — the file itself, `usage/`, or the configured root replaced by a link — fails the
// call (ELOOP), so a writer of the storage cannot make root open, create or delete anything
// outside it, even by swapping a component between two calls. Files are opened O_NOFOLLOW |
// O_NONBLOCK | O_CLOEXEC | O_NOCTTY (a FIFO planted at a name never blocks the open) and their
// type is checked on the descriptor. A DirHandle holds a directory the same way; names inside it
// are single components (no '/', not "." or ".."), reached with the *at() calls, so a sequence
// of operations (create a temporary file, hash it, rename it into place, fsync the directory)
// all happens in the one directory that was opened.
#pragma once

#include "base/result.hpp"
#include "base/unique_handle.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <sys/stat.h>
#include <sys/types.h>

namespace appshare {

// What a file opened by name must be.
enum class FileType { Regular, Directory, Any };

// Opens `path` (absolute, or relative to `dirfd` when that is not AT_FDCWD) without following a
// symbolic link at any component; adds O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, and O_NONBLOCK
// unless O_DIRECTORY is asked for (a FIFO or device at the name never blocks the open; it has
// no effect on regular files). Returns the descriptor, or
// -1 with errno set (ELOOP: a component is a link).
[[nodiscard]] int open_no_links(int dirfd, const std::filesystem::path& path, int flags, mode_t mode = 0);

// open_no_links, then fstat: the file must be of `type`. Errors as DirHandle::open_file. `st`,
// when given, receives the fstat.
[[nodiscard]] Result<UniqueFd> open_checked(const std::filesystem::path& path, int flags, FileType type,
                                            struct stat* st = nullptr, mode_t mode = 0);

// A directory held open (O_DIRECTORY, reached without links).
class DirHandle {
public:
    enum class Create { No, Yes };

    // Opens `dir`; with Create::Yes, missing components are made one by one (mkdirat under the
    // parent that was opened, exactly `mode` for the new ones), so a link put in place of one between
    // two steps is refused, not followed. UnsafePath when a component is a link or not a
    // directory; Io otherwise.
    [[nodiscard]] static Result<DirHandle> open(const std::filesystem::path& dir, Create create = Create::No,
                                                mode_t mode = 0755);

    // Another descriptor on the same open directory.
    [[nodiscard]] Result<DirHandle> duplicate() const;

    DirHandle(DirHandle&&) noexcept = default;
    DirHandle& operator=(DirHandle&&) noexcept = default;

    [[nodiscard]] int fd() const noexcept { return fd_.get(); }
    [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }
    // The absolute path of `name` in this directory (for messages, and for programs such as QEMU).
    [[nodiscard]] std::filesystem::path operator/(std::string_view name) const { return path_ / name; }

    // A sub-directory (one name), made with `mode` when missing and `create` says so.
    [[nodiscard]] Result<DirHandle> sub(std::string_view name, Create create = Create::No, mode_t mode = 0755) const;

    // Opens `name` with `flags` (O_NOFOLLOW and the rest as open_no_links adds) and checks its
    // type on the descriptor. Errors: NotFound when it does not exist, UnsafePath when it is a link
// or not of `type`, Io otherwise; each names the file.
    [[nodiscard]] Result<UniqueFd> open_file(std::string_view name, int flags, FileType type = FileType::Regular,
                                             struct stat* st = nullptr, mode_t mode = 0) const;

    // lstat of `name`: nullopt when it does not exist; Io for any other failure.
    [[nodiscard]] Result<std::optional<struct stat>> stat(std::string_view name) const;

    // unlinkat (a file) / rmdir (an empty directory, Directory); a missing name is success.
    [[nodiscard]] Result<void> remove(std::string_view name, FileType type = FileType::Regular) const;
    // Removes the folder `name` in this directory and everything in it, each entry by name in
    // the folder opened (a link inside is removed, never followed); a missing name is success.
    [[nodiscard]] Result<void> remove_tree(std::string_view name) const;
    // renameat within this directory, replacing `to`.
    [[nodiscard]] Result<void> rename(std::string_view from, std::string_view to) const;
    // linkat within this directory: AlreadyExists when `to` exists (a rename that never replaces).
    [[nodiscard]] Result<void> link(std::string_view from, std::string_view to) const;
    // symlinkat: a link `name` holding `target` (never replacing: AlreadyExists).
    [[nodiscard]] Result<void> symlink(const std::filesystem::path& target, std::string_view name) const;
    // readlinkat: what the link `name` holds; nullopt when `name` is missing or not a link.
    [[nodiscard]] std::optional<std::filesystem::path> read_link(std::string_view name) const;
    // fsync of the directory (after a rename or unlink in it).
    [[nodiscard]] Result<void> sync() const;
    // The names in it (not "." and ".."), unsorted.
    [[nodiscard]] Result<std::vector<std::string>> names() const;

private:
    DirHandle(UniqueFd fd, std::filesystem::path path) : fd_(std::move(fd)), path_(std::move(path)) {}
    UniqueFd fd_;
    std::filesystem::path path_;
};

// The same for a single operation by absolute path: its folder is opened with DirHandle::open
// and the operation done on the last component there.
[[nodiscard]] Result<std::optional<struct stat>> stat_no_links(const std::filesystem::path& path);
[[nodiscard]] Result<void> remove_no_links(const std::filesystem::path& path, FileType type = FileType::Regular);
// The names in a folder; nullopt when it does not exist.
[[nodiscard]] Result<std::optional<std::vector<std::string>>> list_no_links(const std::filesystem::path& dir);

// True when `name` is one path component: not empty, no '/', not "." or "..", no NUL.
[[nodiscard]] bool is_single_name(std::string_view name);

}  // namespace appshare
