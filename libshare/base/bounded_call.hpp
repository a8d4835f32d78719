// Work on storage that may stop answering, done where it can be abandoned: in a child process
// that is killed with SIGKILL and left behind as soon as it makes no progress for a while (a call
// on a network mount whose server is gone ends only when the file system gives up on the server,
// even after SIGKILL: GlusterFS after its ping timeout). The caller goes on at once with what it
// can do without that storage.
#pragma once

#include "base/result.hpp"

#include <chrono>
#include <functional>
#include <string>

namespace appshare {

using LineFn = std::function<void(const std::string&)>;

struct BoundedOptions {
    // The worker is killed when it sends no line and no heartbeat (base/heartbeat.hpp) for this long.
    std::chrono::milliseconds stall{30000};
    // Called in the calling process for each line the worker sent (its log, in order).
    LineFn on_line;
    // Names the work in messages: "the shared storage".
    std::string what = "the work";
};

// Runs work(send_line) in a child process and returns the text it returned. send_line passes a
// line to options.on_line (and counts as a heartbeat). Errors: Io when the worker stalled
// ("<what> made no progress for N s"), Interrupted at Ctrl-C or SIGTERM (the worker is killed
// too), Internal when the worker died without an answer or the process cannot be forked.
[[nodiscard]] Result<std::string> bounded_call(const std::function<std::string(const LineFn& send_line)>& work,
                                               const BoundedOptions& options);

}  // namespace appshare
