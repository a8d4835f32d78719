// Fetching a base over http(s). The fetcher itself (libcurl) lives in libappshare-http, which
// the core loads with dlopen() the first time a URL is really fetched: libcurl and its TLS,
// Kerberos and LDAP dependencies cost milliseconds to load, and the hook runs at every start.
#pragma once

#include "store/blob_store.hpp"
#include "store/remote_source_limits.hpp"
#include "base/result.hpp"

#include <chrono>
#include <string>
#include <vector>

namespace appshare {

struct HttpOptions {
    std::chrono::seconds connect_timeout{15};
    int max_redirects = 5;
    // The whole fetch, redirects included, must end by limits.deadline; a transfer slower than
    // 1 KiB/s for limits.stall_timeout is abandoned; a 200 answer whose Content-Length is above
    // limits.max_bytes is refused before its body is read.
    SourceLimits limits;
};

// At most this much of a non-200 answer's body (an error page, a redirect's note) is read before
// the connection is dropped: it is never content, and a server must not keep a load busy with it.
inline constexpr std::size_t kMaxHttpErrorBody = 4096;

// Streams `url`'s body to `sink`. Before the request, and again for every redirect target
// (followed by hand, at most max_redirects), the URL must pass check_allowed_url(url, prefixes);
// only a 200 answer's body reaches the sink.
using HttpFetchFn = Result<void> (*)(const std::string& url, const std::vector<std::string>& prefixes,
                                     const HttpOptions& options, const ByteSink& sink);

// The symbol libappshare-http exports: `HttpFetchFn appshare_http_fetcher_v1()`.
inline constexpr const char* kHttpFetcherSymbol = "appshare_http_fetcher_v1";

// The fetcher, loading libappshare-http on first use (found next to libappshare-core).
// Error (Internal) when the library cannot be loaded: a broken installation.
[[nodiscard]] Result<HttpFetchFn> load_http_fetcher();

}  // namespace appshare
