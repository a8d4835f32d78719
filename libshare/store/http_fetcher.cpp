#include "store/http_fetcher.hpp"

#include <mutex>

#include <dlfcn.h>

namespace appshare {

Result<HttpFetchFn> load_http_fetcher()
{
    static std::once_flag once;
    static HttpFetchFn fetcher = nullptr;
    static std::string failure;
    std::call_once(once, [] {
        // Found through libappshare-core's RUNPATH ($ORIGIN): both libraries sit side by side.
        void* lib = dlopen(APPSHARE_HTTP_SONAME, RTLD_NOW | RTLD_LOCAL);
        if (lib == nullptr) {
            const char* why = dlerror();
            failure = why != nullptr ? why : "unknown reason";
            return;
        }
        using Factory = HttpFetchFn (*)();
        auto factory = reinterpret_cast<Factory>(dlsym(lib, kHttpFetcherSymbol));
        if (factory == nullptr) {
            failure = std::string(kHttpFetcherSymbol) + " is missing";
            return;
        }
        fetcher = factory();
    });
    if (fetcher == nullptr) {
        return make_error(ErrorCode::Internal, std::string("cannot load ") + APPSHARE_HTTP_SONAME + " to fetch over http (" +
                                                   failure + "); reinstall appshare.");
    }
    return fetcher;
}

}  // namespace appshare
