// How much work one source of a base may cause. Digest and size of a base come from the domain's
// metadata, which whoever may define a domain writes, so without limits any large file under an
// allowed directory or URL would be copied whole into the shared storage (and again host-locally
// on a fallback), and a source that stops answering would hold the base's lock for ever. Every
// source the hook loads from (files, http, the other store's copy) obeys the same limits.
#pragma once

#include "base/byte_stream.hpp"
#include "base/result.hpp"

#include <chrono>
#include <cstdint>
#include <limits>
#include <string>

namespace appshare {

struct SourceLimits {
    // The whole load from this source, opening it included, must end by then (max(): no limit).
    std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
    // A source that gives nothing for this long is abandoned (http: slower than 1 KiB/s this long).
    std::chrono::milliseconds stall_timeout{60000};
    // A source larger than this is refused: before copying when its size is known (a file's
    // size, an http Content-Length), and as soon as more arrives while streaming.
    std::uint64_t max_bytes = std::numeric_limits<std::uint64_t>::max();
};

// The error for a source larger than limits.max_bytes. Names the source and the configured
// maximum only, never the source's own size (the definer may not be allowed to read it).
[[nodiscard]] Error source_too_large(const std::string& description, std::uint64_t max_bytes);

// The error for a source that stalled or ran past its deadline.
[[nodiscard]] Error source_too_slow(const std::string& description, bool past_deadline,
                                    std::chrono::milliseconds stall_timeout);

// `sink` behind a counter: once more than max_bytes have passed, the stream ends with
// source_too_large(description, max_bytes) before the extra bytes reach `sink`.
[[nodiscard]] ByteSink capped_sink(const ByteSink& sink, std::uint64_t max_bytes, std::string description);

}  // namespace appshare
