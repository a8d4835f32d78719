#include "base/atomic_file.hpp"

#include "base/file_lock.hpp"
#include "base/write_all.hpp"

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace appshare {
namespace {

Error io_error(const std::string& what, const std::filesystem::path& p, int err)
{
    std::string hint = err == ENOSPC ? "; free space on that filesystem and try again."
                       : (err == EACCES || err == EPERM || err == EROFS) ? "; check that it is writable by root and mounted read-write."
                                                                         : "; check the path and the storage.";
    return make_error(ErrorCode::Io, "cannot " + what + " " + p.string() + ": " + std::strerror(err) + hint);
}

}  // namespace

std::string temp_prefix_for(const std::filesystem::path& final_path)
{
    return "." + final_path.filename().string() + ".part-";
}

Result<TempFile> TempFile::create_beside(const std::filesystem::path& final_path, mode_t mode)
{
    static std::atomic<unsigned> counter{0};
    const auto dir = final_path.parent_path().empty() ? std::filesystem::path(".") : final_path.parent_path();
    for (int attempt = 0; attempt < 100; ++attempt) {
        const auto name = temp_prefix_for(final_path) + this_host_name() + "-" + std::to_string(getpid()) + "-" +
                          std::to_string(counter++);
        const auto p = dir / name;
        UniqueFd fd(open(p.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode));
        if (fd.valid()) return TempFile(std::move(fd), p, final_path);
        if (errno != EEXIST) return io_error("create a temporary file in", dir, errno);
    }
    return make_error(ErrorCode::Io, "cannot create a temporary file in " + dir.string() + "; too many leftovers, remove its .part-* files.");
}

TempFile::TempFile(TempFile&& o) noexcept
    : fd_(std::move(o.fd_)), path_(std::move(o.path_)), final_(std::move(o.final_)), committed_(o.committed_)
{
    o.committed_ = true;  // the moved-from object owns nothing
}

TempFile::~TempFile()
{
    if (!committed_ && !path_.empty()) ::unlink(path_.c_str());
}

Result<void> TempFile::write(std::string_view data)
{
    if (const int err = write_all(fd_.get(), data); err != 0) return io_error("write", path_, err);
    return ok();
}

Result<void> TempFile::finish(mode_t mode, bool replace)
{
    if (fsync(fd_.get()) != 0) return io_error("flush", path_, errno);
    if (fchmod(fd_.get(), mode) != 0) return io_error("set permissions of", path_, errno);
    if (replace) {
        if (std::rename(path_.c_str(), final_.c_str()) != 0) return io_error("rename into place", final_, errno);
    } else {
        // link() fails with EEXIST instead of replacing; then drop the temporary name.
        if (::link(path_.c_str(), final_.c_str()) != 0) {
            const int err = errno;
            if (err == EEXIST) {
                return make_error(ErrorCode::AlreadyExists, final_.string() + " already exists; choose another name or remove it first.");
            }
            return io_error("create", final_, err);
        }
        ::unlink(path_.c_str());
    }
    committed_ = true;
    fd_.reset();
    return fsync_dir(final_.parent_path().empty() ? std::filesystem::path(".") : final_.parent_path());
}

Result<void> TempFile::commit(mode_t mode) { return finish(mode, true); }
Result<void> TempFile::commit_no_replace(mode_t mode) { return finish(mode, false); }

Result<void> write_file_atomic(const std::filesystem::path& path, std::string_view content, mode_t mode)
{
    auto tmp = TempFile::create_beside(path);
    if (!tmp) return std::move(tmp).error();
    if (auto w = tmp->write(content); !w) return w;
    return tmp->commit(mode);
}

Result<void> fsync_dir(const std::filesystem::path& dir)
{
    UniqueFd fd(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd.valid()) return io_error("open directory", dir, errno);
    if (fsync(fd.get()) != 0 && errno != EINVAL) return io_error("flush directory", dir, errno);
    return ok();
}

Result<void> make_dirs(const std::filesystem::path& dir, mode_t mode)
{
    struct stat existing {};
    if (::stat(dir.c_str(), &existing) == 0 && S_ISDIR(existing.st_mode)) return ok();  // the usual case: one stat
    std::filesystem::path cur;
    for (const auto& part : dir) {
        cur /= part;
        if (cur == "/" || cur.empty()) continue;
        if (::mkdir(cur.c_str(), mode) == 0) {
            // Exactly `mode`, whatever the umask: QEMU, as libvirt's user, must pass through the
            // folders appshare makes for it.
            if (::chmod(cur.c_str(), mode) != 0) return io_error("set the permissions of directory", cur, errno);
        } else if (errno != EEXIST) {
            return io_error("create directory", cur, errno);
        }
    }
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
        return make_error(ErrorCode::Io, dir.string() + " is not a directory; move whatever is there out of the way.");
    }
    return ok();
}

}  // namespace appshare
