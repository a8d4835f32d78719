#include "base/byte_stream.hpp"

#include "base/heartbeat.hpp"

#include <algorithm>
#include <cerrno>
#include <memory>

#include <fcntl.h>
#include <unistd.h>

namespace appshare {

Result<void> stream_fd(int fd, const ByteSink& sink, const ReadErrorFn& read_error, std::uint64_t limit)
{
    (void)::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    const auto buf = std::make_unique<std::byte[]>(kStreamChunk);
    std::uint64_t done = 0;
    while (done < limit) {
        const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(kStreamChunk, limit - done));
        const ssize_t n = ::read(fd, buf.get(), want);
        if (n < 0) {
            if (errno == EINTR) continue;
            return read_error(errno);
        }
        if (n == 0) break;
        done += static_cast<std::uint64_t>(n);
        heartbeat();
        if (auto r = sink(std::span<const std::byte>(buf.get(), static_cast<std::size_t>(n))); !r) return r;
    }
    return ok();
}

}  // namespace appshare
