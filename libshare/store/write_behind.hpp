// Writing a stream to a file on a thread of its own, so that the caller hashes the next chunk
// while the previous one is written: a load then costs about the slower of copying and
// hashing, not their sum. The writer follows store/write_back.hpp: small writes, and write-back
// started as it goes.
#pragma once

#include "base/result.hpp"
#include "store/write_back.hpp"

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

namespace appshare {

class WriteBehind {
public:
    // Writes to `fd` (not owned); `what` names the file in messages. At most `max_queued`
    // chunks wait in memory.
    WriteBehind(int fd, std::string what, std::size_t max_queued = 4);
    ~WriteBehind();  // stops the writer; what is still queued is dropped
    WriteBehind(const WriteBehind&) = delete;
    WriteBehind& operator=(const WriteBehind&) = delete;

    // Queues a copy of `bytes`; waits while the queue is full. Returns the writer's error once
    // it has failed (then nothing more is written).
    [[nodiscard]] Result<void> push(std::span<const std::byte> bytes);

    // Waits until everything queued is written; the first write error, if any.
    [[nodiscard]] Result<void> finish();

private:
    void run();

    int fd_;
    std::string what_;
    std::size_t max_queued_;
    std::mutex mutex_;
    std::condition_variable changed_;
    std::deque<std::vector<std::byte>> queue_;
    std::vector<std::vector<std::byte>> spare_;  // written buffers, reused (no page faults per chunk)
    bool busy_ = false;     // the writer holds a chunk it is writing
    bool stopping_ = false;
    int error_ = 0;         // errno of the first failed write
    std::uint64_t written_ = 0;  // bytes written so far (writer's thread only)
    WriteBack write_back_;       // (writer's thread only)
    std::thread thread_;
};

}  // namespace appshare
