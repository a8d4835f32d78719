// The C entry point the startup binary loads with dlopen() for calls that need work
// (hook/hook_call.hpp): builds the request, runs it, writes what libvirt should see.
#include "base/write_all.hpp"
#include "hook/hook_call.hpp"
#include "hook/hook_dispatch.hpp"
#include "base/interrupt.hpp"

#include <type_traits>

#include <unistd.h>

extern "C" __attribute__((visibility("default"))) int appshare_hook_entry(const char* domain, const char* op,
                                                                          const char* subop, const char* extra,
                                                                          const char* xml, std::size_t xml_len,
                                                                          int truncated)
{
    appshare::install_interrupt_handlers();
    // Everything that may throw (even building the request: a large XML) inside the catch-all.
    const appshare::HookResponse response = appshare::refuse_on_exception([&] {
        appshare::HookRequest request;
        request.domain = domain;
        request.op = op;
        request.subop = subop;
        request.extra = extra;
        request.stdin_xml.assign(xml, xml_len);
        request.stdin_truncated = truncated != 0;
        return appshare::run_hook(request);
    });
    static_cast<void>(appshare::write_all(STDOUT_FILENO, response.stdout_text));
    static_cast<void>(appshare::write_all(STDERR_FILENO, response.stderr_text));
    return response.exit_status;
}

// Checked at compile time against the declaration the launcher uses.
static_assert(std::is_same_v<decltype(&appshare_hook_entry), appshare::HookEntryFn>);
