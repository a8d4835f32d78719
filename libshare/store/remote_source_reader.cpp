#include "store/remote_source_reader.hpp"

#include <algorithm>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace appshare {
namespace {

using Clock = std::chrono::steady_clock;

// Shared by the caller and the reader thread, which may outlive the call.
struct Handover {
    std::mutex mutex;
    std::condition_variable changed;
    std::optional<std::vector<std::byte>> chunk;  // pushed, not yet taken
    std::vector<std::byte> spare;                 // a chunk the caller is done with, for reuse
    std::optional<Result<void>> finished;         // the reader's result
    bool abandoned = false;                       // the caller is gone: stop at the next push
};

Result<void> push_chunk(Handover& h, std::span<const std::byte> bytes)
{
    std::vector<std::byte> copy;
    {
        std::lock_guard lock(h.mutex);
        copy = std::move(h.spare);
    }
    copy.assign(bytes.begin(), bytes.end());  // a returned buffer keeps its capacity: no new pages per chunk
    std::unique_lock lock(h.mutex);
    h.changed.wait(lock, [&] { return !h.chunk || h.abandoned; });
    if (h.abandoned) return make_error(ErrorCode::Interrupted, "the load from this source was abandoned");
    h.chunk = std::move(copy);
    h.changed.notify_all();
    return ok();
}

}  // namespace

Result<void> read_with_deadline(SourceReader read, const ByteSink& sink, const SourceLimits& limits,
                                const std::string& description)
{
    auto h = std::make_shared<Handover>();
    std::thread reader([h, read = std::move(read)] {
        auto r = read([&h](std::span<const std::byte> bytes) { return push_chunk(*h, bytes); });
        std::lock_guard lock(h->mutex);
        h->finished = std::move(r);
        h->changed.notify_all();
    });
    const auto leave = [&](Result<void> why) {
        {
            std::lock_guard lock(h->mutex);
            h->abandoned = true;
            h->changed.notify_all();
        }
        reader.detach();  // it may be blocked in a read that never returns
        return why;
    };
    auto last_progress = Clock::now();
    for (;;) {
        std::optional<std::vector<std::byte>> chunk;
        {
            std::unique_lock lock(h->mutex);
            const auto stall_end = last_progress + limits.stall_timeout;
            const auto until = std::min(stall_end, limits.deadline);
            const bool ready = h->changed.wait_until(lock, until, [&] { return h->chunk || h->finished; });
            if (!ready) {
                lock.unlock();
                return leave(source_too_slow(description, Clock::now() >= limits.deadline, limits.stall_timeout));
            }
            if (h->chunk) {
                chunk = std::move(h->chunk);
                h->chunk.reset();
                h->changed.notify_all();
            } else {
                Result<void> result = std::move(*h->finished);
                lock.unlock();
                reader.join();
                return result;
            }
        }
        last_progress = Clock::now();
        if (auto s = sink(*chunk); !s) return leave(std::move(s));
        std::lock_guard lock(h->mutex);
        h->spare = std::move(*chunk);
    }
}

}  // namespace appshare
