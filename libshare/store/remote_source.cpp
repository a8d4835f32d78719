#include "store/remote_source.hpp"

#include "base/byte_stream.hpp"
#include "base/dir_handle.hpp"
#include "store/http_fetcher.hpp"

#include "store/trusted_paths.hpp"
#include "base/unique_handle.hpp"

#include <cerrno>
#include <cstring>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace appshare {
namespace {

Result<void> stream_file(const std::filesystem::path& file, const ByteSink& sink)
{
    // No link anywhere in the path (a source in an allowed folder arrives here resolved), and a
    // regular file checked on the descriptor: a FIFO or device put there is refused, not read.
    auto fd = open_checked(file, O_RDONLY, FileType::Regular);
    if (!fd) return std::move(fd).error();
    const auto read_error = [&](int err) {
        return make_error(ErrorCode::Io, "cannot read " + file.string() + ": " + std::strerror(err));
    };
    return stream_fd(fd->get(), sink, read_error);
}

}  // namespace

BlobSource store_file_source(std::filesystem::path file)
{
    auto description = file.string();
    return BlobSource{std::move(description), [file = std::move(file)](const ByteSink& sink) { return stream_file(file, sink); }};
}

BlobSource allowed_file_source(std::filesystem::path path, std::vector<std::filesystem::path> allowed_dirs)
{
    auto description = path.string();
    return BlobSource{std::move(description),
                      [path = std::move(path), dirs = std::move(allowed_dirs)](const ByteSink& sink) -> Result<void> {
                          auto resolved = resolve_allowed_source_file(path, dirs);
                          if (!resolved) return make_error(resolved.error().code, message_clause(resolved.error().message));
                          return stream_file(*resolved, sink);
                      }};
}

BlobSource http_source(std::string url, std::vector<std::string> prefixes, HttpOptions options)
{
    auto description = url;
    return BlobSource{std::move(description),
                      [url = std::move(url), prefixes = std::move(prefixes), options](const ByteSink& sink) -> Result<void> {
                          auto fetch = load_http_fetcher();
                          if (!fetch) return make_error(fetch.error().code, message_clause(fetch.error().message));
                          auto r = (*fetch)(url, prefixes, options, sink);
                          if (!r) return make_error(r.error().code, message_clause(r.error().message));
                          return ok();
                      }};
}

}  // namespace appshare
