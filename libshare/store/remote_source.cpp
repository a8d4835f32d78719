#include "store/remote_source.hpp"

#include "base/byte_stream.hpp"
#include "base/dir_handle.hpp"
#include "base/text.hpp"
#include "base/unique_handle.hpp"
#include "base/url.hpp"
#include "store/file_copy.hpp"
#include "store/http_fetcher.hpp"
#include "store/remote_source_reader.hpp"
#include "store/trusted_paths.hpp"
#include "store/write_back.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace appshare {
namespace {

// A source file opened on the reader thread, and how many bytes of it may be read: at most one
// more than the limit (capped_sink refuses that byte).
struct OpenedFile {
    UniqueFd fd;
    std::uint64_t limit = 0;
};

// Opens without following a link or waiting for a FIFO's writer, and refuses anything but a
// regular file and one larger than the limit. No link anywhere in the path (a source in an
// allowed folder arrives here resolved), and the type checked on the descriptor: a FIFO or
// device put there is refused, not read.
Result<OpenedFile> open_file(const std::filesystem::path& file, const SourceLimits& limits)
{
    struct stat st {};
    auto opened = open_checked(file, O_RDONLY, FileType::Regular, &st);
    if (!opened) return make_error(opened.error().code, printable(opened.error().message));
    if (static_cast<std::uint64_t>(st.st_size) > limits.max_bytes) return source_too_large(printable(file.string()), limits.max_bytes);
    const std::uint64_t limit = limits.max_bytes == std::numeric_limits<std::uint64_t>::max() ? limits.max_bytes : limits.max_bytes + 1;
    return OpenedFile{std::move(*opened), limit};
}

// What is done with an opened source file on the reader thread: its content pushed, in order.
using Transfer = std::function<Result<void>(const std::filesystem::path& file, const OpenedFile& opened, const ByteSink& push)>;

// Not stream_fd(): it beats the worker's heartbeat, whose pipe is not this thread's to write
// (two threads writing it would garble its messages); the waiting thread beats per chunk.
Result<void> read_file(const std::filesystem::path& file, const OpenedFile& opened, const ByteSink& push)
{
    std::vector<std::byte> buf(kStreamChunk);
    for (std::uint64_t done = 0; done < opened.limit;) {
        const ssize_t n = ::read(opened.fd.get(), buf.data(), static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), opened.limit - done)));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return make_error(ErrorCode::Io, "cannot read " + printable(file.string()) + ": " + std::strerror(errno));
        if (n == 0) break;
        done += static_cast<std::uint64_t>(n);
        if (auto r = push(std::span<const std::byte>(buf.data(), static_cast<std::size_t>(n))); !r) return r;
    }
    return ok();
}

// Where a source file is: found on the reader thread too (resolving a path on a mount that
// stops answering blocks as much as reading it).
using Locate = std::function<Result<std::filesystem::path>()>;

Result<void> transfer_file(const std::string& description, const Locate& locate, Transfer transfer, const SourceLimits& limits,
                           const ByteSink& sink)
{
    auto read = [locate, transfer = std::move(transfer), limits](const ByteSink& push) -> Result<void> {
        auto file = locate();
        if (!file) return std::move(file).error();
        auto opened = open_file(*file, limits);
        if (!opened) return std::move(opened).error();
        return transfer(*file, *opened, push);
    };
    return read_with_deadline(std::move(read), capped_sink(sink, limits.max_bytes, description), limits, description);
}

// A file source: streamed (read on the reader thread), or copied by the reader thread into the
// file being loaded (store/file_copy.hpp), which then only hashes what was written. The copier
// writes through a descriptor of its own: a copier left behind on a stall writes only into the
// temporary file the abandoned load already removed, never into a file that reuses the number.
BlobSource file_source(std::string description, Locate locate, SourceLimits limits)
{
    auto stream = [description, locate, limits](const ByteSink& sink) { return transfer_file(description, locate, read_file, limits, sink); };
    auto copy_to = [description, locate, limits](int fd, const std::string& fd_name, const ByteSink& written) -> Result<void> {
        auto dst = std::make_shared<UniqueFd>(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
        if (!dst->valid()) return write_error(fd_name, errno);
        Transfer copy = [dst, fd_name](const std::filesystem::path& file, const OpenedFile& opened, const ByteSink& push) {
            return copy_into_file(CopyEnds{opened.fd.get(), dst->get(), printable(file.string()), fd_name}, opened.limit, push);
        };
        return transfer_file(description, locate, std::move(copy), limits, written);
    };
    return BlobSource{std::move(description), std::move(stream), std::move(copy_to)};
}

}  // namespace

BlobSource store_file_source(std::filesystem::path file, SourceLimits limits)
{
    auto description = printable(file.string());
    return file_source(std::move(description), [file = std::move(file)]() -> Result<std::filesystem::path> { return file; }, limits);
}

BlobSource allowed_file_source(std::filesystem::path path, std::vector<std::filesystem::path> allowed_dirs, SourceLimits limits)
{
    auto description = printable(path.string());
    auto locate = [path = std::move(path), dirs = std::move(allowed_dirs)]() -> Result<std::filesystem::path> {
        auto resolved = resolve_allowed_source_file(path, dirs);
        if (!resolved) return make_error(resolved.error().code, message_clause(resolved.error().message));
        return resolved;
    };
    return file_source(std::move(description), std::move(locate), limits);
}

BlobSource http_source(std::string url, std::vector<std::string> prefixes, HttpOptions options)
{
    auto description = url_for_message(url);
    return BlobSource{description, [description, url = std::move(url), prefixes = std::move(prefixes),
                                    options](const ByteSink& sink) -> Result<void> {
                          auto fetch = load_http_fetcher();
                          if (!fetch) return make_error(fetch.error().code, message_clause(fetch.error().message));
                          auto r = (*fetch)(url, prefixes, options, capped_sink(sink, options.limits.max_bytes, description));
                          if (!r) return make_error(r.error().code, message_clause(r.error().message));
                          return ok();
                      }};
}

}  // namespace appshare
