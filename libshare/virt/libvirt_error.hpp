// Turning libvirt's thread-local "last error" into appshare Errors, and keeping libvirt quiet.
#pragma once

#include "base/error.hpp"

#include <string>
#include <string_view>

namespace appshare {

// libvirt's last error of this thread, copied out before another libvirt call overwrites it.
struct LibvirtFailure {
    int code = 0;       // a virErrorNumber (VIR_ERR_*); 0 when libvirt recorded none
    std::string text;   // libvirt's own message, or a stand-in when it gave none
};

// Copies (and clears) the calling thread's last libvirt error. Call it right after the failing
// libvirt call, before any other libvirt call.
[[nodiscard]] LibvirtFailure take_libvirt_failure();

// "<what>: <libvirt text>; <hint>." with the given code (ErrorCode::Libvirt unless told): one
// sentence, ending in the hint's own '?' or '!' when it has one, else in a full stop.
[[nodiscard]] Error libvirt_error(const LibvirtFailure& failure, std::string_view what,
                                  std::string_view hint, ErrorCode code = ErrorCode::Libvirt);

// Replaces libvirt's default error handler (which prints every error to stderr) with one that
// does nothing; errors still reach take_libvirt_failure(). The command calls this once, early.
void silence_libvirt_stderr() noexcept;

}  // namespace appshare
