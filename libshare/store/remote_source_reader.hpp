// Reading a source that may block: a file on a FUSE or network mount that stops answering, a
// device that never ends. poll() says nothing about regular files, so the reads run on a thread
// of their own and this side waits for them with a clock, the way libcurl bounds an http fetch.
#pragma once

#include "store/remote_source_limits.hpp"

#include <functional>
#include <string>

namespace appshare {

// Everything that may block about one source (opening it, checking it, reading it), run on the
// reader thread: it feeds the content to `push` in order and returns its own error, if any.
using SourceReader = std::function<Result<void>(const ByteSink& push)>;

// Runs `read` on a reader thread and passes what it pushes to `sink` on this one. Ends with
// source_too_slow(description, …) when nothing arrives for limits.stall_timeout or
// limits.deadline passes; the reader thread is then left behind, blocked in its call (it ends
// with that call, or with the process), and what it reads later is dropped. Returns `read`'s
// error, or `sink`'s (the reader is then told to stop at its next push).
[[nodiscard]] Result<void> read_with_deadline(SourceReader read, const ByteSink& sink, const SourceLimits& limits,
                                              const std::string& description);

}  // namespace appshare
