#include "store/remote_source.hpp"

#include "base/byte_stream.hpp"
#include "base/dir_handle.hpp"
#include "base/text.hpp"
#include "base/unique_handle.hpp"
#include "base/url.hpp"
#include "store/http_fetcher.hpp"
#include "store/remote_source_reader.hpp"
#include "store/trusted_paths.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <limits>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace appshare {
namespace {

// On the reader thread: open without following a link or waiting for a FIFO's writer, refuse
// anything but a regular file and one larger than the limit, then stream at most one byte more
// than the limit (capped_sink refuses that byte).
Result<void> read_file(const std::filesystem::path& file, const SourceLimits& limits, const ByteSink& push)
{
    const std::string name = printable(file.string());
    // No link anywhere in the path (a source in an allowed folder arrives here resolved), and a
    // regular file checked on the descriptor: a FIFO or device put there is refused, not read.
    struct stat st {};
    auto opened = open_checked(file, O_RDONLY, FileType::Regular, &st);
    if (!opened) return make_error(opened.error().code, printable(opened.error().message));
    const UniqueFd fd = std::move(*opened);
    if (static_cast<std::uint64_t>(st.st_size) > limits.max_bytes) return source_too_large(name, limits.max_bytes);
    const std::uint64_t limit = limits.max_bytes == std::numeric_limits<std::uint64_t>::max() ? limits.max_bytes : limits.max_bytes + 1;
    // Not stream_fd(): it beats the worker's heartbeat, whose pipe is not this thread's to write
    // (two threads writing it would garble its messages); the waiting thread beats per chunk.
    std::vector<std::byte> buf(kStreamChunk);
    for (std::uint64_t done = 0; done < limit;) {
        const ssize_t n = ::read(fd.get(), buf.data(), static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), limit - done)));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return make_error(ErrorCode::Io, "cannot read " + name + ": " + std::strerror(errno));
        if (n == 0) break;
        done += static_cast<std::uint64_t>(n);
        if (auto r = push(std::span<const std::byte>(buf.data(), static_cast<std::size_t>(n))); !r) return r;
    }
    return ok();
}

// Where a source file is: found on the reader thread too (resolving a path on a mount that
// stops answering blocks as much as reading it).
using Locate = std::function<Result<std::filesystem::path>()>;

Result<void> stream_file(const std::string& description, Locate locate, const SourceLimits& limits, const ByteSink& sink)
{
    auto read = [locate = std::move(locate), limits](const ByteSink& push) -> Result<void> {
        auto file = locate();
        if (!file) return std::move(file).error();
        return read_file(*file, limits, push);
    };
    return read_with_deadline(std::move(read), capped_sink(sink, limits.max_bytes, description), limits, description);
}

}  // namespace

BlobSource store_file_source(std::filesystem::path file, SourceLimits limits)
{
    auto description = printable(file.string());
    return BlobSource{description, [description, file = std::move(file), limits](const ByteSink& sink) {
                          return stream_file(description, [file]() -> Result<std::filesystem::path> { return file; }, limits, sink);
                      }};
}

BlobSource allowed_file_source(std::filesystem::path path, std::vector<std::filesystem::path> allowed_dirs, SourceLimits limits)
{
    auto description = printable(path.string());
    auto locate = [path = std::move(path), dirs = std::move(allowed_dirs)]() -> Result<std::filesystem::path> {
        auto resolved = resolve_allowed_source_file(path, dirs);
        if (!resolved) return make_error(resolved.error().code, message_clause(resolved.error().message));
        return resolved;
    };
    return BlobSource{description, [description, locate = std::move(locate), limits](const ByteSink& sink) {
                          return stream_file(description, locate, limits, sink);
                      }};
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
