#include "store/write_back.hpp"

#include "base/write_all.hpp"

#include <algorithm>

#include <fcntl.h>

namespace appshare {
namespace {

constexpr std::size_t kWritePiece = std::size_t{256} << 10;
constexpr std::uint64_t kWriteBackWindow = std::uint64_t{8} << 20;

}  // namespace

int write_in_pieces(int fd, std::span<const std::byte> bytes) noexcept
{
    for (std::size_t at = 0; at < bytes.size();) {
        const std::size_t n = std::min(kWritePiece, bytes.size() - at);
        if (const int err = write_all(fd, bytes.data() + at, n); err != 0) return err;
        at += n;
    }
    return 0;
}

void WriteBack::wrote(std::uint64_t written) noexcept
{
    while (written - window_start_ >= kWriteBackWindow) {
        (void)::sync_file_range(fd_, static_cast<off_t>(window_start_), kWriteBackWindow, SYNC_FILE_RANGE_WRITE);
        if (window_start_ >= kWriteBackWindow) {
            (void)::sync_file_range(fd_, static_cast<off_t>(window_start_ - kWriteBackWindow), kWriteBackWindow,
                                    SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER);
        }
        window_start_ += kWriteBackWindow;
    }
}

}  // namespace appshare
