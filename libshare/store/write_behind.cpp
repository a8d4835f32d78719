#include "store/write_behind.hpp"

#include "store/write_back.hpp"

#include <cerrno>
#include <cstring>

#include <unistd.h>

namespace appshare {

WriteBehind::WriteBehind(int fd, std::string what, std::size_t max_queued)
    : fd_(fd), what_(std::move(what)), max_queued_(max_queued == 0 ? 1 : max_queued), write_back_(fd),
      thread_([this] { run(); })
{
}

WriteBehind::~WriteBehind()
{
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        queue_.clear();
    }
    changed_.notify_all();
    thread_.join();
}

void WriteBehind::run()
{
    std::unique_lock lock(mutex_);
    for (;;) {
        changed_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping, nothing left
        std::vector<std::byte> chunk = std::move(queue_.front());
        queue_.pop_front();
        busy_ = true;
        lock.unlock();
        changed_.notify_all();  // room in the queue

        const int err = write_in_pieces(fd_, chunk);
        if (err == 0) {
            written_ += chunk.size();
            write_back_.wrote(written_);
        }

        lock.lock();
        busy_ = false;
        spare_.push_back(std::move(chunk));
        if (err != 0 && error_ == 0) {
            error_ = err;
            queue_.clear();
        }
        changed_.notify_all();
    }
}

Result<void> WriteBehind::push(std::span<const std::byte> bytes)
{
    std::vector<std::byte> chunk;
    {
        std::lock_guard lock(mutex_);
        if (!spare_.empty()) {
            chunk = std::move(spare_.back());
            spare_.pop_back();
        }
    }
    chunk.assign(bytes.begin(), bytes.end());  // a spare buffer keeps its capacity: no new pages
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] { return error_ != 0 || queue_.size() < max_queued_; });
    if (error_ != 0) {
        const std::string hint = error_ == ENOSPC ? "; free space on that filesystem and try again."
                                                  : "; check the storage it is on.";
        return make_error(ErrorCode::Io, "cannot write " + what_ + ": " + std::strerror(error_) + hint);
    }
    queue_.push_back(std::move(chunk));
    lock.unlock();
    changed_.notify_all();
    return ok();
}

Result<void> WriteBehind::finish()
{
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] { return error_ != 0 || (queue_.empty() && !busy_); });
    if (error_ != 0) {
        const std::string hint = error_ == ENOSPC ? "; free space on that filesystem and try again."
                                                  : "; check the storage it is on.";
        return make_error(ErrorCode::Io, "cannot write " + what_ + ": " + std::strerror(error_) + hint);
    }
    return ok();
}

}  // namespace appshare
