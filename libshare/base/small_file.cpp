#include "base/small_file.hpp"

#include "base/dir_handle.hpp"
#include "base/unique_handle.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <system_error>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace appshare {
namespace {

// Opens `file` for reading as described in the header; on success `out.file_size` is set.
UniqueFd open_regular(const std::filesystem::path& file, FollowLinks follow, SmallFile& out)
{
    UniqueFd fd(follow == FollowLinks::No ? open_no_links(AT_FDCWD, file, O_RDONLY)
                                          : ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
    if (!fd.valid()) {
        out.err = errno;
        out.problem = out.err == ENOENT  ? FileProblem::Missing
                      : out.err == ELOOP ? FileProblem::Link
                                         : FileProblem::Unreadable;
        return fd;
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) {
        out.err = errno;
        out.problem = FileProblem::Unreadable;
        return UniqueFd{};
    }
    if (!S_ISREG(st.st_mode)) {
        out.problem = FileProblem::NotRegular;
        return UniqueFd{};
    }
    out.file_size = static_cast<std::uint64_t>(st.st_size);
    return fd;
}

}  // namespace

std::string SmallFile::why() const
{
    switch (problem) {
        case FileProblem::None: return "was read";
        case FileProblem::Missing: return "does not exist";
        case FileProblem::Link: return "is a symbolic link";
        case FileProblem::NotRegular: return "is not a regular file";
        case FileProblem::TooLarge: return "is larger than expected (" + std::to_string(text.size()) + " bytes or more)";
        case FileProblem::Unreadable: return std::generic_category().message(err);
    }
    return "cannot be read";
}

SmallFile read_small_file(const std::filesystem::path& file, std::size_t max_bytes, FollowLinks follow)
{
    SmallFile out;
    const UniqueFd fd = open_regular(file, follow, out);
    if (!fd.valid()) return out;
    std::array<char, 65536> buf{};
    for (;;) {
        const std::size_t room = max_bytes + 1 - out.text.size();
        const ssize_t n = ::read(fd.get(), buf.data(), std::min(buf.size(), room));
        if (n < 0) {
            if (errno == EINTR) continue;
            out.err = errno;
            out.problem = FileProblem::Unreadable;
            return out;
        }
        if (n == 0) break;
        out.text.append(buf.data(), static_cast<std::size_t>(n));
        if (out.text.size() > max_bytes) {
            out.problem = FileProblem::TooLarge;
            return out;
        }
    }
    return out;
}

SmallFile read_file_head(const std::filesystem::path& file, std::size_t max_bytes, FollowLinks follow)
{
    SmallFile out;
    const UniqueFd fd = open_regular(file, follow, out);
    if (!fd.valid()) return out;
    if (const int err = read_fd_head(fd.get(), std::min<std::uint64_t>(max_bytes, out.file_size), out.text); err != 0) {
        out.err = err;
        out.problem = FileProblem::Unreadable;
    } else if (out.text.size() < max_bytes) {
        out.file_size = out.text.size();  // the file shrank while we read it: it ends here
    }
    return out;
}

int read_fd_head(int fd, std::size_t max_bytes, std::string& out)
{
    out.resize(max_bytes);
    std::size_t got = 0;
    while (got < max_bytes) {
        const ssize_t n = ::pread(fd, out.data() + got, max_bytes - got, static_cast<off_t>(got));
        if (n < 0) {
            if (errno == EINTR) continue;
            const int err = errno;
            out.resize(got);
            return err;
        }
        if (n == 0) break;
        got += static_cast<std::size_t>(n);
    }
    out.resize(got);
    return 0;
}

}  // namespace appshare
