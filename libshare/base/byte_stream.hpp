// Content streamed chunk by chunk: a member of a bundle, a source of a base, a file being hashed.
#pragma once

#include "base/result.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <span>

namespace appshare {

// Receives content in order, chunk by chunk (at most kStreamChunk bytes each); returning an
// Error stops the stream, and that Error is what the streaming call returns.
using ByteSink = std::function<Result<void>(std::span<const std::byte>)>;

inline constexpr std::size_t kStreamChunk = std::size_t{1} << 20;

// Makes the Error for a failed read from its errno.
using ReadErrorFn = std::function<Error(int err)>;

// Feeds `fd` from its current offset to its end, or to `limit` bytes, to `sink`, reading
// kStreamChunk bytes at a time with EINTR retried and telling the kernel the reads are
// sequential. Returns the sink's Error, or read_error(errno) when a read fails.
[[nodiscard]] Result<void> stream_fd(int fd, const ByteSink& sink, const ReadErrorFn& read_error,
                                     std::uint64_t limit = std::numeric_limits<std::uint64_t>::max());

}  // namespace appshare
