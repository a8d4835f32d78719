// Writing a new file through the page cache at about the disk's speed: the two rules a loader
// that writes a base follows (store/write_behind.hpp, the writer thread of every load). Crash
// safety still comes from the fsync before publication alone.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace appshare {

// Writes all of `bytes` to `fd` at its current offset, in pieces of at most 256 KiB. A larger
// write makes the kernel put the new page-cache pages in larger folios (ext4 on 6.x), and on a
// VM whose balloon reports free memory to the hypervisor those come from memory the host has
// taken back, so their first touch costs a host fault each. Measured on this machine kind (1 GiB
// written after 5 s idle): writes of 1 MiB took 2.7-3.4 s of system time, 512 KiB 2.2-2.5 s,
// 256 KiB 0.42-0.43 s, 128 KiB 0.45-0.52 s (cp: 0.4 s). Returns 0 or the errno that stopped it.
[[nodiscard]] int write_in_pieces(int fd, std::span<const std::byte> bytes) noexcept;

// Starts the write-back of what was written as it goes: every 8 MiB written, write-back of
// that window is started (sync_file_range) and the window before it is waited for, so at most
// about two windows of the file are dirty at any time, the kernel's dirty-page throttling never
// stalls the copy and the fsync before publication has little left to flush. Advisory: a file
// system without it (a FUSE mount) leaves everything to that fsync.
class WriteBack {
public:
    explicit WriteBack(int fd) noexcept : fd_(fd) {}

    // `written`: the bytes written from offset 0 so far (a running total).
    void wrote(std::uint64_t written) noexcept;

private:
    int fd_;
    std::uint64_t window_start_ = 0;  // where the next window starts
};

}  // namespace appshare
