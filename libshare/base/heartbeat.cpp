#include "base/heartbeat.hpp"

#include <atomic>

namespace appshare {
namespace {

std::atomic<HeartbeatFn> g_heartbeat{nullptr};

}  // namespace

void heartbeat() noexcept
{
    if (const HeartbeatFn fn = g_heartbeat.load(std::memory_order_relaxed)) fn();
}

void set_heartbeat(HeartbeatFn fn) noexcept
{
    g_heartbeat.store(fn, std::memory_order_relaxed);
}

}  // namespace appshare
