// Writing a whole buffer to a descriptor, the one loop for it. Header-only so that the startup
// binary's launcher (hooks/) can use it without loading any appshare library.
#pragma once

#include <cerrno>
#include <cstddef>
#include <string_view>

#include <unistd.h>

namespace appshare {

// Writes all `size` bytes at `data` to `fd`, retrying short writes and EINTR. Returns 0, or the
// errno of the write that failed (EIO when a write wrote nothing).
[[nodiscard]] inline int write_all(int fd, const void* data, std::size_t size) noexcept
{
    const auto* p = static_cast<const char*>(data);
    while (size > 0) {
        const ssize_t n = ::write(fd, p, size);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return errno;
        if (n == 0) return EIO;
        p += n;
        size -= static_cast<std::size_t>(n);
    }
    return 0;
}

[[nodiscard]] inline int write_all(int fd, std::string_view text) noexcept
{
    return write_all(fd, text.data(), text.size());
}

}  // namespace appshare
