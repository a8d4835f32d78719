// libappshare-http: the http(s) fetcher, on libcurl. A library of its own so that libcurl and
// its TLS/Kerberos/LDAP dependencies are loaded only when a base really is fetched over http
// (store/http_fetcher.hpp loads it with dlopen), never on the hook's warm path.
#include "store/http_fetcher.hpp"

#include "store/trusted_paths.hpp"
#include "base/unique_handle.hpp"
#include "base/url.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <optional>

namespace appshare {
namespace {

void curl_init_once()
{
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Transfer {
    CURL* curl = nullptr;
    const ByteSink* sink = nullptr;
    const HttpOptions* options = nullptr;
    std::string description;             // the URL as messages show it
    std::optional<Error> sink_error;
    std::size_t other_body = 0;          // bytes of a non-200 answer's body seen
    bool other_body_cut = false;         // ... and dropped after kMaxHttpErrorBody
};

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user)
{
    auto* t = static_cast<Transfer*>(user);
    const std::size_t n = size * count;
    long code = 0;
    curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &code);
    if (code != 200) {
        // A redirect's or an error page's body: not content, and read only so far.
        t->other_body += n;
        if (t->other_body <= kMaxHttpErrorBody) return n;
        t->other_body_cut = true;
        return 0;  // aborts the transfer; the answer's code is reported
    }
    auto r = (*t->sink)(std::as_bytes(std::span(data, n)));
    if (!r) {
        t->sink_error = std::move(r).error();
        return 0;  // aborts the transfer
    }
    return n;
}

// Called for each header line; at the blank line that ends a 200 answer's headers, a
// Content-Length above the limit ends the transfer before any of the body is read.
std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user)
{
    auto* t = static_cast<Transfer*>(user);
    const std::size_t n = size * count;
    const bool end_of_headers = n <= 2 && (n == 0 || data[0] == '\r' || data[0] == '\n');
    if (!end_of_headers) return n;
    long code = 0;
    curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &code);
    curl_off_t length = -1;
    if (code == 200 && curl_easy_getinfo(t->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length) == CURLE_OK &&
        length >= 0 && static_cast<std::uint64_t>(length) > t->options->limits.max_bytes) {
        t->sink_error = source_too_large(t->description, t->options->limits.max_bytes);
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
        Transfer t;
        t.curl = curl.get();
        t.sink = &sink;
        t.options = &o;
        t.description = url_for_message(url);
        curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
        curl_easy_setopt(curl.get(), CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(curl.get(), CURLOPT_FOLLOWLOCATION, 0L);
        curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(curl.get(), CURLOPT_CONNECTTIMEOUT, static_cast<long>(o.connect_timeout.count()));
        curl_easy_setopt(curl.get(), CURLOPT_LOW_SPEED_LIMIT, 1024L);
        const auto stall = std::chrono::ceil<std::chrono::seconds>(o.limits.stall_timeout);
        curl_easy_setopt(curl.get(), CURLOPT_LOW_SPEED_TIME, static_cast<long>(std::max<std::chrono::seconds::rep>(stall.count(), 1)));
        if (o.limits.deadline != std::chrono::steady_clock::time_point::max()) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(o.limits.deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) return make_error(ErrorCode::Io, "no time is left to fetch " + t.description);
            curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS, static_cast<long>(left.count()));
        }
        curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &t);
        curl_easy_setopt(curl.get(), CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(curl.get(), CURLOPT_HEADERDATA, &t);
        curl_easy_setopt(curl.get(), CURLOPT_USERAGENT, "appshare-hook");
        const CURLcode rc = curl_easy_perform(curl.get());
        if (t.sink_error) return *t.sink_error;
        if (rc != CURLE_OK && !t.other_body_cut) {
            if (rc == CURLE_OPERATION_TIMEDOUT && std::chrono::steady_clock::now() >= o.limits.deadline) {
                return source_too_slow(t.description, true, o.limits.stall_timeout);
            }
            return make_error(ErrorCode::Io, "cannot fetch " + t.description + ": " + curl_easy_strerror(rc));
        }
        long code = 0;
        curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &code);
        if (code == 200) return ok();
        if (code >= 300 && code < 400) {
            char* next = nullptr;
            curl_easy_getinfo(curl.get(), CURLINFO_REDIRECT_URL, &next);
            if (next == nullptr) return make_error(ErrorCode::Io, t.description + " answered HTTP " + std::to_string(code) + " without a location");
            url = next;
            continue;
        }
        return make_error(ErrorCode::Io, t.description + " answered HTTP " + std::to_string(code));
    }
    return make_error(ErrorCode::Io, url_for_message(first_url) + " redirected more than " + std::to_string(o.max_redirects) + " times");
}

}  // namespace
}  // namespace appshare

extern "C" __attribute__((visibility("default"))) appshare::HttpFetchFn appshare_http_fetcher_v1()
{
    return &appshare::fetch;
}
