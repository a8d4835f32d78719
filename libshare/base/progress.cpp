#include "base/progress.hpp"

#include "base/size_units.hpp"
#include "base/write_all.hpp"

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include <sys/ioctl.h>
#include <unistd.h>

namespace appshare {

namespace {

constexpr auto kRedrawInterval = std::chrono::milliseconds(100);

void write_stderr(std::string_view s) noexcept
{
    static_cast<void>(write_all(STDERR_FILENO, s));  // a progress line is not worth an error
}

}  // namespace

std::string format_progress_line(std::string_view label, std::uint64_t done, std::uint64_t total,
                                 double elapsed_seconds)
{
    std::string line(label);
    line += "  ";
    if (total > 0) {
        const std::uint64_t shown = done > total ? total : done;
        const auto pct = static_cast<unsigned>(static_cast<double>(shown) * 100.0 / static_cast<double>(total));
        std::array<char, 8> buf{};
        std::snprintf(buf.data(), buf.size(), "%3u%%", pct);
        line += buf.data();
        line += ' ';
        line += format_size(done, SizeStyle::Compact);
        line += '/';
        line += format_size(total, SizeStyle::Compact);
    } else {
        line += format_size(done, SizeStyle::Compact);
    }
    if (elapsed_seconds > 0.0) {
        const double rate = static_cast<double>(done) / elapsed_seconds;
        line += ' ';
        line += format_size(static_cast<std::uint64_t>(rate), SizeStyle::Compact);
        line += "/s";
    }
    return line;
}

Progress::Progress(std::string label, std::uint64_t total)
    : label_(std::move(label)), total_(total), start_(std::chrono::steady_clock::now()), last_draw_(start_)
{
    enabled_ = std::getenv("APPSHARE_NO_PROGRESS") == nullptr && ::isatty(STDERR_FILENO) == 1;
    if (enabled_) {
        winsize ws{};
        if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0) width_ = ws.ws_col;
    }
}

Progress::~Progress() { finish(); }

void Progress::advance(std::uint64_t bytes)
{
    done_ += bytes;
    if (!enabled_) return;
    const auto now = std::chrono::steady_clock::now();
    // The first draw also waits one interval, so short reads never flash a line.
    if (now - last_draw_ < kRedrawInterval) return;
    draw(now);
}

void Progress::finish()
{
    if (drawn_) write_stderr("\r\x1b[K");
    drawn_ = false;
    enabled_ = false;
}

ProgressFn Progress::callback()
{
    return [this](std::uint64_t bytes) { advance(bytes); };
}

void Progress::draw(std::chrono::steady_clock::time_point now)
{
    last_draw_ = now;
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    std::string line = format_progress_line(label_, done_, total_, elapsed);
    // A line longer than the terminal wraps and "\r" no longer returns to its start: shorten the
    // label from the left, keeping its end (the file name).
    if (width_ > 0 && line.size() >= width_) {
        const std::size_t excess = line.size() - width_ + 1 + 3;
        if (excess < label_.size()) {
            line = format_progress_line("..." + label_.substr(excess), done_, total_, elapsed);
        }
        if (line.size() >= width_) line.resize(width_ - 1);
    }
    write_stderr("\r" + line + "\x1b[K");
    drawn_ = true;
}

}  // namespace appshare
