#include "base/sync_batch.hpp"

#include "base/error.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace appshare {
namespace {

Error flush_error(const std::filesystem::path& p, int err)
{
    return make_error(ErrorCode::Io, "cannot flush " + p.string() + " to its storage: " + std::strerror(err) +
                                         (err == ENOSPC ? "; free space on that filesystem and try again."
                                                        : "; check the storage and try again."));
}

}  // namespace

Result<void> SyncBatch::add(int fd, const std::filesystem::path& path)
{
    struct stat st {};
    if (::fstat(fd, &st) != 0) return flush_error(path, errno);
    const bool known = std::any_of(entries_.begin(), entries_.end(),
                                   [&](const Entry& e) { return e.dev == st.st_dev && e.ino == st.st_ino; });
    if (known) return ok();
    UniqueFd own(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
    if (!own.valid()) return flush_error(path, errno);
    entries_.push_back(Entry{std::move(own), path, st.st_dev, st.st_ino, S_ISDIR(st.st_mode)});
    return ok();
}

Result<void> SyncBatch::flush()
{
    auto entries = std::move(entries_);
    entries_.clear();
    // Write-back of every file first: its blocks are allocated now, in the journal transaction
    // the fsyncs below wait for together.
    for (const auto& e : entries) {
        if (!e.folder) (void)::sync_file_range(e.fd.get(), 0, 0, SYNC_FILE_RANGE_WRITE);
    }
    // The fsyncs at once, one thread each: every fsync ends with a flush of the disk's cache,
    // and flushes requested together are merged into one.
    std::vector<int> errors(entries.size(), 0);
    const auto sync_one = [&](std::size_t i) {
        // A folder on a file system that cannot flush folders says EINVAL: nothing to do there.
        if (::fsync(entries[i].fd.get()) != 0 && !(entries[i].folder && errno == EINVAL)) errors[i] = errno;
    };
    {
        std::vector<std::jthread> helpers;
        for (std::size_t i = 1; i < entries.size(); ++i) helpers.emplace_back(sync_one, i);
        if (!entries.empty()) sync_one(0);
    }
    for (std::size_t i = 0; i < entries.size(); ++i) {
        if (errors[i] != 0) return flush_error(entries[i].path, errors[i]);
    }
    return ok();
}

}  // namespace appshare
