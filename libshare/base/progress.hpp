// A one-line progress indicator on stderr for long reads (digests, copies), shown only on a
// terminal:  "images/base.qcow2  45% 460 MiB/1.0 GiB 1.2 GiB/s".
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace appshare {

// Called by long-running readers after each chunk with the number of bytes just processed
// (an increment, not a running total).
using ProgressFn = std::function<void(std::uint64_t bytes)>;

// Draws "label  PCT DONE/TOTAL RATE" on stderr, redrawn at most 10 times a second and erased by
// finish() (or the destructor). Silent unless stderr is a terminal, and silent whenever the
// environment variable APPSHARE_NO_PROGRESS is set (to anything). advance() is cheap enough to
// call once per chunk. Not thread-safe: one reader drives one Progress.
class Progress {
public:
    // total: the expected number of bytes, or 0 when unknown (no percentage is shown then).
    Progress(std::string label, std::uint64_t total);
    ~Progress();
    Progress(const Progress&) = delete;
    Progress& operator=(const Progress&) = delete;

    // Adds `bytes` to the amount done and redraws if the last draw is 100 ms old or more.
    void advance(std::uint64_t bytes);
    // Erases the line if one was drawn. Further advance() calls draw nothing.
    void finish();
    // A ProgressFn that advances this object (which must outlive it).
    [[nodiscard]] ProgressFn callback();

    [[nodiscard]] bool enabled() const noexcept { return enabled_; }
    [[nodiscard]] std::uint64_t done() const noexcept { return done_; }

private:
    void draw(std::chrono::steady_clock::time_point now);

    std::string label_;
    std::uint64_t total_ = 0;
    std::uint64_t done_ = 0;
    bool enabled_ = false;
    bool drawn_ = false;
    unsigned width_ = 0;  // terminal columns, 0 if unknown
    std::chrono::steady_clock::time_point start_;
    std::chrono::steady_clock::time_point last_draw_;
};

// The text of one progress line (without the carriage return and erase sequence):
// "label  45% 460 MiB/1.0 GiB 1.2 GiB/s"; without percentage and total when total is 0, and
// without the rate while elapsed_seconds is 0.
[[nodiscard]] std::string format_progress_line(std::string_view label, std::uint64_t done,
                                               std::uint64_t total, double elapsed_seconds);

}  // namespace appshare
