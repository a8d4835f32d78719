#include "store/file_copy.hpp"

#include "store/write_back.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace appshare {
namespace {

// The bytes one copy_file_range may move before they are read back and handed on: what the
// caller may have to wait for when it stops the copy, and what stays hot in the page cache.
constexpr std::uint64_t kKernelPiece = std::uint64_t{8} << 20;

Error read_error(const CopyEnds& e, int err)
{
    return make_error(ErrorCode::Io, "cannot read " + e.src_name + ": " + std::strerror(err) + "; check the file and its storage.");
}

bool same_file_system(const CopyEnds& e)
{
    struct stat a {};
    struct stat b {};
    return ::fstat(e.src, &a) == 0 && ::fstat(e.dst, &b) == 0 && a.st_dev == b.st_dev;
}

// Whether a copy_file_range that failed with `err` before copying anything means "not between
// these two files" (then user space copies), rather than an I/O error.
bool kernel_copy_refused(int err)
{
    return err == EXDEV || err == EOPNOTSUPP || err == ENOSYS || err == EINVAL || err == EBADF || err == ETXTBSY;
}

// Feeds [offset, offset + size) of ends.dst, read back, to `written`.
Result<void> read_back(const CopyEnds& e, std::uint64_t offset, std::uint64_t size, std::vector<std::byte>& buf,
                       const ByteSink& written)
{
    for (std::uint64_t done = 0; done < size;) {
        const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), size - done));
        const ssize_t n = ::pread(e.dst, buf.data(), want, static_cast<off_t>(offset + done));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return make_error(ErrorCode::Io, "cannot read back " + e.dst_name + ": " + std::strerror(errno) + "; check the storage it is on.");
        if (n == 0) return make_error(ErrorCode::Io, e.dst_name + " is shorter than what was copied into it; check who else writes to its folder.");
        done += static_cast<std::uint64_t>(n);
        if (auto r = written(std::span<const std::byte>(buf.data(), static_cast<std::size_t>(n))); !r) return r;
    }
    return ok();
}

}  // namespace

Result<void> copy_into_file(const CopyEnds& ends, std::uint64_t limit, const ByteSink& written)
{
    (void)::posix_fadvise(ends.src, 0, 0, POSIX_FADV_SEQUENTIAL);
    std::vector<std::byte> buf(kStreamChunk);
    WriteBack write_back(ends.dst);
    bool in_kernel = same_file_system(ends);
    std::uint64_t done = 0;
    while (done < limit) {
        if (in_kernel) {
            const auto want = static_cast<std::size_t>(std::min(kKernelPiece, limit - done));
            const ssize_t n = ::copy_file_range(ends.src, nullptr, ends.dst, nullptr, want, 0);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && done == 0 && kernel_copy_refused(errno)) {
                in_kernel = false;
                continue;
            }
            if (n < 0) return make_error(ErrorCode::Io, "cannot copy " + ends.src_name + " into " + ends.dst_name + ": " + std::strerror(errno) + "; check both files' storage.");
            // 0: the end, or a file whose size the kernel does not know (a pseudo-file): let read() say.
            if (n == 0) {
                in_kernel = false;
                continue;
            }
            if (auto r = read_back(ends, done, static_cast<std::uint64_t>(n), buf, written); !r) return r;
            done += static_cast<std::uint64_t>(n);
        } else {
            const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), limit - done));
            const ssize_t n = ::read(ends.src, buf.data(), want);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) return read_error(ends, errno);
            if (n == 0) break;
            const std::span<const std::byte> bytes(buf.data(), static_cast<std::size_t>(n));
            if (const int err = write_in_pieces(ends.dst, bytes); err != 0) return write_error(ends.dst_name, err);
            if (auto r = written(bytes); !r) return r;
            done += static_cast<std::uint64_t>(n);
        }
        write_back.wrote(done);
    }
    return ok();
}

}  // namespace appshare
