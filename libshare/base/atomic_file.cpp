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
    const auto parent = final_path.parent_path().empty() ? std::filesystem::current_path() : final_path.parent_path();
    auto dir = DirHandle::open(std::filesystem::absolute(parent));
    if (!dir) {
        if (dir.error().code != ErrorCode::NotFound) return std::move(dir).error();
        return io_error("create a file in", parent, ENOENT);
    }
    return create_in(*dir, final_path.filename().string(), mode);
}

Result<TempFile> TempFile::create_in(const DirHandle& dir, std::string_view final_name, mode_t mode)
{
    static std::atomic<unsigned> counter{0};
    auto own = dir.duplicate();
    if (!own) return std::move(own).error();
    for (int attempt = 0; attempt < 100; ++attempt) {
        const auto name = temp_prefix_for(std::string(final_name)) + this_host_name() + "-" + std::to_string(getpid()) +
                          "-" + std::to_string(counter++);
        UniqueFd fd(open_no_links(own->fd(), name, O_RDWR | O_CREAT | O_EXCL, mode));
        if (fd.valid()) return TempFile(std::move(*own), std::move(fd), name, std::string(final_name));
        if (errno != EEXIST) return io_error("create a temporary file in", dir.path(), errno);
    }
    return make_error(ErrorCode::Io, "cannot create a temporary file in " + dir.path().string() + "; too many leftovers, remove its .part-* files.");
}

TempFile::TempFile(TempFile&& o) noexcept
    : dir_(std::move(o.dir_)), fd_(std::move(o.fd_)), name_(std::move(o.name_)), final_name_(std::move(o.final_name_)),
      path_(std::move(o.path_)), committed_(o.committed_)
{
    o.committed_ = true;  // the moved-from object owns nothing
}

TempFile::~TempFile()
{
    if (!committed_ && !name_.empty()) (void)dir_.remove(name_);
}

Result<void> TempFile::write(std::string_view data)
{
    if (const int err = write_all(fd_.get(), data); err != 0) return io_error("write", path_, err);
    return ok();
}

Result<void> TempFile::finish(mode_t mode, bool replace, struct stat* published, SyncBatch* batch)
{
    const auto final_path = dir_ / final_name_;
    if (batch != nullptr) {
        if (auto a = batch->add(fd_.get(), final_path); !a) return a;
    } else if (fsync(fd_.get()) != 0) {
        return io_error("flush", path_, errno);
    }
    if (fchmod(fd_.get(), mode) != 0) return io_error("set permissions of", path_, errno);
    struct stat mine {};
    if (fstat(fd_.get(), &mine) != 0) return io_error("inspect", path_, errno);
    if (replace) {
        if (auto r = dir_.rename(name_, final_name_); !r) return r;
    } else {
        // link() fails with EEXIST instead of replacing; then drop the temporary name.
        if (auto l = dir_.link(name_, final_name_); !l) return l;
        (void)dir_.remove(name_);
    }
    committed_ = true;
    // What is at the final name now must be the file written and checked through fd_: a file
    // renamed over the temporary name meanwhile would otherwise be published in its place.
    auto now = dir_.stat(final_name_);
    if (!now) return std::move(now).error();
    if (!*now || (*now)->st_ino != mine.st_ino || (*now)->st_dev != mine.st_dev) {
        if (*now) (void)dir_.remove(final_name_);
        return make_error(ErrorCode::UnsafePath, "another file took the place of " + final_path.string() +
                                                     " while it was being written; it was removed, check who else writes to " +
                                                     dir_.path().string() + " and try again.");
    }
    if (published != nullptr && fstat(fd_.get(), published) != 0) return io_error("inspect", final_path, errno);
    fd_.reset();
    if (batch != nullptr) return batch->add(dir_.fd(), dir_.path());
    return dir_.sync();
}

Result<void> TempFile::commit(mode_t mode, struct stat* published, SyncBatch* batch)
{
    return finish(mode, true, published, batch);
}
Result<void> TempFile::commit_no_replace(mode_t mode, SyncBatch* batch) { return finish(mode, false, nullptr, batch); }

Result<void> write_file_atomic(const std::filesystem::path& path, std::string_view content, mode_t mode, SyncBatch* batch)
{
    auto tmp = TempFile::create_beside(path);
    if (!tmp) return std::move(tmp).error();
    if (auto w = tmp->write(content); !w) return w;
    return tmp->commit(mode, nullptr, batch);
}

Result<void> fsync_dir(const std::filesystem::path& dir)
{
    auto handle = DirHandle::open(std::filesystem::absolute(dir));
    if (!handle) return std::move(handle).error();
    return handle->sync();
}

Result<void> make_dirs(const std::filesystem::path& dir, mode_t mode)
{
    auto handle = DirHandle::open(std::filesystem::absolute(dir), DirHandle::Create::Yes, mode);
    if (!handle) return std::move(handle).error();
    return ok();
}

}  // namespace appshare
