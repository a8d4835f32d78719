// Reading small files (records, configuration, state, lock-holder notes, image headers) the one
// way appshare reads them: opened with O_NONBLOCK (a FIFO planted at the name never blocks),
// O_NOCTTY and, unless the caller trusts links there, without following a link at any component
// of the path (base/dir_handle.hpp); checked to be a regular file
// on the descriptor; read with EINTR retried and never more than the cap plus one byte.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

namespace appshare {

enum class FollowLinks { No, Yes };

// What kept a file from being read.
enum class FileProblem { None, Missing, Link, NotRegular, TooLarge, Unreadable };

struct SmallFile {
    std::string text;             // the bytes read (for read_file_head: at most the cap)
    std::uint64_t file_size = 0;  // st_size of the file that was read
    FileProblem problem = FileProblem::None;
    int err = 0;  // the errno behind Missing, Link and Unreadable

    explicit operator bool() const noexcept { return problem == FileProblem::None; }
    // For messages: "does not exist", "is a symbolic link", "is not a regular file", "is larger
    // than 65536 bytes", or the system's text for err.
    [[nodiscard]] std::string why() const;
};

// The whole file, if it holds at most `max_bytes` bytes (TooLarge otherwise). Reads until end
// of file rather than trusting st_size, so /proc files work.
[[nodiscard]] SmallFile read_small_file(const std::filesystem::path& file, std::size_t max_bytes,
                                        FollowLinks follow = FollowLinks::No);

// The first min(size, max_bytes) bytes of the file (a header): never TooLarge.
[[nodiscard]] SmallFile read_file_head(const std::filesystem::path& file, std::size_t max_bytes,
                                       FollowLinks follow = FollowLinks::No);

// Up to `max_bytes` bytes of an open descriptor from offset 0 (pread, EINTR retried); fewer at
// end of file. Returns 0 or the errno of the failed read.
[[nodiscard]] int read_fd_head(int fd, std::size_t max_bytes, std::string& out);

}  // namespace appshare
