#include "virt/libvirt_error.hpp"

#include <libvirt/virterror.h>

namespace appshare {

LibvirtFailure take_libvirt_failure()
{
    LibvirtFailure failure;
    if (const virError* e = virGetLastError(); e != nullptr && e->code != VIR_ERR_OK) {
        failure.code = e->code;
        failure.text = e->message != nullptr ? e->message : "libvirt gave no reason";
    } else {
        failure.text = "libvirt gave no reason";
    }
    virResetLastError();
    return failure;
}

Error libvirt_error(const LibvirtFailure& failure, std::string_view what, std::string_view hint,
                    ErrorCode code)
{
    std::string message(what);
    message += ": ";
    if (hint.empty()) {
        message += failure.text;
    } else {
        message += message_clause(failure.text);  // libvirt's text may end in a stop of its own
        message += "; ";
        message += hint;
    }
    // make_error finishes the sentence: libvirt's text and most hints end without a stop, and a
    // hint that asks ("is libvirtd running?") ends the sentence itself.
    return make_error(code, std::move(message));
}

namespace {
void ignore_libvirt_error(void* /*user_data*/, virErrorPtr /*error*/) {}
}  // namespace

void silence_libvirt_stderr() noexcept
{
    virSetErrorFunc(nullptr, ignore_libvirt_error);
}

}  // namespace appshare
