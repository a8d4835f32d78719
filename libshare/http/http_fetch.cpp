// libappshare-http: the http(s) fetcher, on libcurl. A library of its own so that libcurl and
// its TLS/Kerberos/LDAP dependencies are loaded only when a base really is fetched over http
// (store/http_fetcher.hpp loads it with dlopen), never on the hook's warm path.
#include "store/http_fetcher.hpp"

#include "store/trusted_paths.hpp"
#include "base/unique_handle.hpp"

#include <curl/curl.h>

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
        if (o.deadline != std::chrono::steady_clock::time_point::max()) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(o.deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) return make_error(ErrorCode::Io, "no time is left to fetch " + url);
            curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS, static_cast<long>(left.count()));
        }
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
}  // namespace appshare

extern "C" __attribute__((visibility("default"))) appshare::HttpFetchFn appshare_http_fetcher_v1()
{
    return &appshare::fetch;
}
