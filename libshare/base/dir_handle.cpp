#include "base/dir_handle.hpp"

#include <cerrno>
#include <cstdint>
#include <climits>
#include <cstring>

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace appshare {
namespace {

constexpr std::uint64_t kNoLinks = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;

int openat2_no_links(int dirfd, const char* path, int flags, mode_t mode)
{
    open_how how{};
    how.flags = static_cast<std::uint64_t>(flags);
    how.mode = (flags & (O_CREAT | O_TMPFILE)) != 0 ? mode : 0;
    how.resolve = kNoLinks;
    for (;;) {
        const long fd = ::syscall(SYS_openat2, dirfd, path, &how, sizeof how);
        if (fd >= 0 || errno != EINTR) return static_cast<int>(fd);
        // EAGAIN (RESOLVE_CACHED is not asked for) and EINTR are the only transient failures.
    }
}

std::string type_name(FileType type)
{
    return type == FileType::Directory ? "a directory" : "a regular file";
}

bool has_type(const struct stat& st, FileType type)
{
    switch (type) {
        case FileType::Regular: return S_ISREG(st.st_mode);
        case FileType::Directory: return S_ISDIR(st.st_mode);
        case FileType::Any: return true;
    }
    return false;
}

// The one sentence for a failed open of `path` (errno `err`).
Error open_error(const std::filesystem::path& path, int err)
{
    if (err == ENOENT) return make_error(ErrorCode::NotFound, path.string() + " does not exist.");
    if (err == ELOOP) {
        return make_error(ErrorCode::UnsafePath, path.string() + " is or passes through a symbolic link, which appshare never follows on "
                                                                 "storage others can write; replace the link with the real file or folder, or configure the real path.");
    }
    if (err == ENOTDIR) {
        return make_error(ErrorCode::UnsafePath, "a component of " + path.string() + " is not a directory; move whatever is there out of the way.");
    }
    return make_error(ErrorCode::Io, "cannot open " + path.string() + ": " + std::strerror(err) +
                                         "; check that the storage is mounted and readable by root.");
}

Result<UniqueFd> checked(UniqueFd fd, const std::filesystem::path& path, FileType type, struct stat* out)
{
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return open_error(path, errno);
    if (!has_type(st, type)) {
        return make_error(ErrorCode::UnsafePath, path.string() + " is not " + type_name(type) +
                                                     "; move whatever is there out of the way.");
    }
    if (out != nullptr) *out = st;
    return fd;
}

Error io_failure(const std::string& what, const std::filesystem::path& p, int err)
{
    const std::string hint = err == ENOSPC ? "; free space on that filesystem and try again."
                             : (err == EACCES || err == EPERM || err == EROFS)
                                 ? "; check that it is writable by root and mounted read-write."
                                 : "; check the path and the storage.";
    return make_error(ErrorCode::Io, "cannot " + what + " " + p.string() + ": " + std::strerror(err) + hint);
}

}  // namespace

bool is_single_name(std::string_view name)
{
    return !name.empty() && name != "." && name != ".." && name.find('/') == std::string_view::npos &&
           name.find('\0') == std::string_view::npos;
}

int open_no_links(int dirfd, const std::filesystem::path& path, int flags, mode_t mode)
{
    flags |= O_NOFOLLOW | O_CLOEXEC | O_NOCTTY;
    if ((flags & O_DIRECTORY) == 0) flags |= O_NONBLOCK;  // no effect on a regular file
    return openat2_no_links(dirfd, path.c_str(), flags, mode);
}

Result<UniqueFd> open_checked(const std::filesystem::path& path, int flags, FileType type, struct stat* st, mode_t mode)
{
    if (type == FileType::Directory) flags |= O_DIRECTORY;
    UniqueFd fd(open_no_links(AT_FDCWD, path, flags, mode));
    if (!fd.valid()) return open_error(path, errno);
    return checked(std::move(fd), path, type, st);
}

Result<DirHandle> DirHandle::open(const std::filesystem::path& dir, Create create, mode_t mode)
{
    if (!dir.is_absolute()) {
        return make_error(ErrorCode::Internal, "the folder " + dir.string() + " is not an absolute path; configure absolute paths.");
    }
    const auto normal = dir.lexically_normal();
    UniqueFd fd(open_no_links(AT_FDCWD, normal, O_RDONLY | O_DIRECTORY));
    if (fd.valid() || create == Create::No || errno != ENOENT) {
        if (!fd.valid()) {
            // O_NOFOLLOW | O_DIRECTORY on a link says ENOTDIR: name the link for what it is
            // (lstat only chooses the words; nothing is done by that path).
            struct stat st {};
            const int err = errno;
            const bool link = err == ENOTDIR && ::lstat(normal.c_str(), &st) == 0 && S_ISLNK(st.st_mode);
            return open_error(normal, link ? ELOOP : err);
        }
        return DirHandle(std::move(fd), normal);
    }
    // Walk from "/" making what is missing, each step under the directory opened before it.
    auto handle = DirHandle::open(normal.root_path());
    if (!handle) return std::move(handle).error();
    DirHandle cur = std::move(*handle);
    for (const auto& part : normal.relative_path()) {
        if (part.empty()) continue;  // a trailing '/'
        auto next = cur.sub(part.string(), Create::Yes, mode);
        if (!next) return std::move(next).error();
        cur = std::move(*next);
    }
    return cur;
}

Result<DirHandle> DirHandle::duplicate() const
{
    UniqueFd fd(::fcntl(this->fd(), F_DUPFD_CLOEXEC, 0));
    if (!fd.valid()) return io_failure("open the folder", path_, errno);
    return DirHandle(std::move(fd), path_);
}

Result<DirHandle> DirHandle::sub(std::string_view name, Create create, mode_t mode) const
{
    const auto path = path_ / name;
    if (!is_single_name(name)) return make_error(ErrorCode::UnsafePath, path.string() + " is not a plain name inside " + path_.string() + ".");
    bool made = false;
    if (create == Create::Yes) {
        made = ::mkdirat(fd(), std::string(name).c_str(), mode) == 0;
        if (!made && errno != EEXIST) return io_failure("create the folder", path, errno);
    }
    UniqueFd fd(open_no_links(this->fd(), std::string(name), O_RDONLY | O_DIRECTORY));
    if (!fd.valid()) {
        // O_NOFOLLOW | O_DIRECTORY on a link says ENOTDIR: name the link for what it is.
        struct stat st {};
        const int err = errno;
        const bool link = err == ENOTDIR && ::fstatat(this->fd(), std::string(name).c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                          S_ISLNK(st.st_mode);
        return open_error(path, link ? ELOOP : err);
    }
    // Exactly `mode`, whatever the umask: QEMU, as libvirt's user, must pass through the
    // folders appshare makes for it.
    if (made && ::fchmod(fd.get(), mode) != 0) return io_failure("set the permissions of", path, errno);
    return DirHandle(std::move(fd), path);
}

Result<UniqueFd> DirHandle::open_file(std::string_view name, int flags, FileType type, struct stat* st, mode_t mode) const
{
    const auto path = path_ / name;
    if (!is_single_name(name)) return make_error(ErrorCode::UnsafePath, path.string() + " is not a plain name inside " + path_.string() + ".");
    if (type == FileType::Directory) flags |= O_DIRECTORY;
    UniqueFd fd(open_no_links(this->fd(), std::string(name), flags, mode));
    if (!fd.valid()) return open_error(path, errno);
    return checked(std::move(fd), path, type, st);
}

Result<std::optional<struct stat>> DirHandle::stat(std::string_view name) const
{
    struct stat st {};
    if (!is_single_name(name)) return make_error(ErrorCode::UnsafePath, (path_ / name).string() + " is not a plain name inside " + path_.string() + ".");
    if (::fstatat(fd(), std::string(name).c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) return std::optional<struct stat>(st);
    if (errno == ENOENT) return std::optional<struct stat>{};
    return io_failure("inspect", path_ / name, errno);
}

Result<void> DirHandle::remove(std::string_view name, FileType type) const
{
    if (!is_single_name(name)) return make_error(ErrorCode::UnsafePath, (path_ / name).string() + " is not a plain name inside " + path_.string() + ".");
    const int flags = type == FileType::Directory ? AT_REMOVEDIR : 0;
    if (::unlinkat(fd(), std::string(name).c_str(), flags) != 0 && errno != ENOENT) {
        return io_failure("remove", path_ / name, errno);
    }
    return ok();
}

Result<void> DirHandle::remove_tree(std::string_view name) const
{
    auto sub = this->sub(name);
    if (!sub) {
        if (sub.error().code == ErrorCode::NotFound) return ok();
        return std::move(sub).error();
    }
    auto names = sub->names();
    if (!names) return std::move(names).error();
    for (const auto& entry : *names) {
        auto st = sub->stat(entry);
        if (!st) return std::move(st).error();
        if (!*st) continue;
        if (auto r = S_ISDIR((*st)->st_mode) ? sub->remove_tree(entry) : sub->remove(entry); !r) return r;
    }
    return remove(name, FileType::Directory);
}

Result<void> DirHandle::rename(std::string_view from, std::string_view to) const
{
    if (!is_single_name(from) || !is_single_name(to)) {
        return make_error(ErrorCode::UnsafePath, "cannot rename " + std::string(from) + " to " + std::string(to) + " inside " + path_.string() + ": not plain names.");
    }
    if (::renameat(fd(), std::string(from).c_str(), fd(), std::string(to).c_str()) != 0) {
        return io_failure("rename into place", path_ / to, errno);
    }
    return ok();
}

Result<void> DirHandle::link(std::string_view from, std::string_view to) const
{
    if (!is_single_name(from) || !is_single_name(to)) {
        return make_error(ErrorCode::UnsafePath, "cannot link " + std::string(from) + " to " + std::string(to) + " inside " + path_.string() + ": not plain names.");
    }
    if (::linkat(fd(), std::string(from).c_str(), fd(), std::string(to).c_str(), 0) != 0) {
        if (errno == EEXIST) {
            return make_error(ErrorCode::AlreadyExists, (path_ / to).string() + " already exists; choose another name or remove it first.");
        }
        return io_failure("create", path_ / to, errno);
    }
    return ok();
}

Result<void> DirHandle::symlink(const std::filesystem::path& target, std::string_view name) const
{
    if (!is_single_name(name)) return make_error(ErrorCode::UnsafePath, (path_ / name).string() + " is not a plain name inside " + path_.string() + ".");
    if (::symlinkat(target.c_str(), fd(), std::string(name).c_str()) != 0) {
        if (errno == EEXIST) {
            return make_error(ErrorCode::AlreadyExists, (path_ / name).string() + " already exists; move it away and try again.");
        }
        return io_failure("create the link", path_ / name, errno);
    }
    return ok();
}

std::optional<std::filesystem::path> DirHandle::read_link(std::string_view name) const
{
    if (!is_single_name(name)) return std::nullopt;
    std::string buf(PATH_MAX, '\0');
    const ssize_t n = ::readlinkat(fd(), std::string(name).c_str(), buf.data(), buf.size());
    if (n < 0 || static_cast<std::size_t>(n) >= buf.size()) return std::nullopt;
    buf.resize(static_cast<std::size_t>(n));
    return std::filesystem::path(buf);
}

Result<void> DirHandle::sync() const
{
    if (::fsync(fd()) != 0 && errno != EINVAL) return io_failure("flush the folder", path_, errno);
    return ok();
}

Result<std::vector<std::string>> DirHandle::names() const
{
    // fdopendir takes the descriptor over: give it its own (same open directory, own offset).
    UniqueFd own(::openat(fd(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!own.valid()) return io_failure("list", path_, errno);
    DIR* d = ::fdopendir(own.get());
    if (d == nullptr) return io_failure("list", path_, errno);
    own.release();
    std::vector<std::string> out;
    errno = 0;
    while (const dirent* e = ::readdir(d)) {
        const std::string_view n = e->d_name;
        if (n != "." && n != "..") out.emplace_back(n);
        errno = 0;
    }
    const int err = errno;
    ::closedir(d);
    if (err != 0) return io_failure("list", path_, err);
    return out;
}

namespace {

// The folder of `path` and its last component.
Result<std::pair<DirHandle, std::string>> parent_of(const std::filesystem::path& path)
{
    const auto normal = path.lexically_normal();
    const auto name = normal.filename().string();
    if (!is_single_name(name)) return make_error(ErrorCode::UnsafePath, path.string() + " does not name a file.");
    auto dir = DirHandle::open(normal.parent_path());
    if (!dir) return std::move(dir).error();
    return std::pair{std::move(*dir), name};
}

}  // namespace

Result<std::optional<struct stat>> stat_no_links(const std::filesystem::path& path)
{
    auto parent = parent_of(path);
    if (!parent) {
        if (parent.error().code == ErrorCode::NotFound) return std::optional<struct stat>{};
        return std::move(parent).error();
    }
    return parent->first.stat(parent->second);
}

Result<void> remove_no_links(const std::filesystem::path& path, FileType type)
{
    auto parent = parent_of(path);
    if (!parent) {
        if (parent.error().code == ErrorCode::NotFound) return ok();
        return std::move(parent).error();
    }
    return parent->first.remove(parent->second, type);
}

Result<std::optional<std::vector<std::string>>> list_no_links(const std::filesystem::path& dir)
{
    auto handle = DirHandle::open(dir);
    if (!handle) {
        if (handle.error().code == ErrorCode::NotFound) return std::optional<std::vector<std::string>>{};
        return std::move(handle).error();
    }
    auto names = handle->names();
    if (!names) return std::move(names).error();
    return std::optional<std::vector<std::string>>(std::move(*names));
}

}  // namespace appshare
