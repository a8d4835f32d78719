#include "core/remote_source.hpp"

#include "core/trusted_paths.hpp"
#include "core/unique_handle.hpp"

#include <curl/curl.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace appshare {
namespace {

constexpr std::size_t kChunk = 1 << 20;

Result<void> stream_file(const std::filesystem::path& file, const ByteSink& sink)
{
    UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd.valid()) {
        return make_error(ErrorCode::Io, "cannot open " + file.string() + ": " + std::strerror(errno));
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
        return make_error(ErrorCode::UnsafePath, file.string() + " is not a regular file");
    }
    std::vector<std::byte> buf(kChunk);
    for (;;) {
        const ssize_t n = ::read(fd.get(), buf.data(), buf.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return make_error(ErrorCode::Io, "cannot read " + file.string() + ": " + std::strerror(errno));
        }
        if (n == 0) return ok();
        if (auto r = sink(std::span<const std::byte>(buf.data(), static_cast<std::size_t>(n))); !r) return r;
    }
}

// Strips the trailing ". …; do this." advice so a nested message reads as a clause.
std::string clause(const Error& e)
{
    auto m = e.message;
    if (!m.empty() && m.back() == '.') m.pop_back();
    return m;
}

void curl_init_once()
{
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Transfer {
    CURL* curl = nullptr;
    const ByteSink* sink = nullptr;
    std::optional<Error> sink_error;
};

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user)
{
    auto* t = static_cast<Transfer*>(user);
    const std::size_t n = size * count;
    long code = 0;
    curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &code);
    if (code != 200) return n;  // a redirect's or an error page's body: not content
    auto r = (*t->sink)(std::as_bytes(std::span(data, n)));
    if (!r) {
        t->sink_error = std::move(r).error();
        return 0;  // aborts the transfer
    }
    return n;
}

using Curl = UniqueHandle<CURL, curl_easy_cleanup>;

Result<void> fetch(const std::string& first_url, const std::vector<std::string>& prefixes, const HttpOptions& o,
                   const ByteSink& sink)
{
    curl_init_once();
    std::string url = first_url;
    for (int hop = 0; hop <= o.max_redirects; ++hop) {
        if (auto c = check_allowed_url(url, prefixes); !c) return c;
        Curl curl(curl_easy_init());
        if (!curl) return make_error(ErrorCode::Internal, "cannot initialise libcurl");
        Transfer t{curl.get(), &sink, std::nullopt};
        curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
        curl_easy_setopt(curl.get(), CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(curl.get(), CURLOPT_FOLLOWLOCATION, 0L);
        curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(curl.get(), CURLOPT_CONNECTTIMEOUT, static_cast<long>(o.connect_timeout.count()));
        curl_easy_setopt(curl.get(), CURLOPT_LOW_SPEED_LIMIT, 1024L);
        curl_easy_setopt(curl.get(), CURLOPT_LOW_SPEED_TIME, static_cast<long>(o.stall_timeout.count()));
        curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &t);
        curl_easy_setopt(curl.get(), CURLOPT_USERAGENT, "appshare-hook");
        const CURLcode rc = curl_easy_perform(curl.get());
        if (t.sink_error) return *t.sink_error;
        if (rc != CURLE_OK) {
            return make_error(ErrorCode::Io, "cannot fetch " + url + ": " + curl_easy_strerror(rc));
        }
        long code = 0;
        curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &code);
        if (code == 200) return ok();
        if (code >= 300 && code < 400) {
            char* next = nullptr;
            curl_easy_getinfo(curl.get(), CURLINFO_REDIRECT_URL, &next);
            if (next == nullptr) return make_error(ErrorCode::Io, url + " answered HTTP " + std::to_string(code) + " without a location");
            url = next;
            continue;
        }
        return make_error(ErrorCode::Io, url + " answered HTTP " + std::to_string(code));
    }
    return make_error(ErrorCode::Io, first_url + " redirected more than " + std::to_string(o.max_redirects) + " times");
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
                          if (!resolved) return make_error(resolved.error().code, clause(resolved.error()));
                          return stream_file(*resolved, sink);
                      }};
}

BlobSource http_source(std::string url, std::vector<std::string> prefixes, HttpOptions options)
{
    auto description = url;
    return BlobSource{std::move(description),
                      [url = std::move(url), prefixes = std::move(prefixes), options](const ByteSink& sink) -> Result<void> {
                          auto r = fetch(url, prefixes, options, sink);
                          if (!r) return make_error(r.error().code, clause(r.error()));
                          return ok();
                      }};
}

}  // namespace appshare
