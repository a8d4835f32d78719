#include "base/interrupt.hpp"

#include <atomic>
#include <csignal>

namespace appshare {
namespace {
volatile std::sig_atomic_t g_interrupted = 0;

extern "C" void on_signal(int /*sig*/) { g_interrupted = 1; }
}  // namespace

void install_interrupt_handlers()
{
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: blocking calls return EINTR and the flag is seen
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGHUP, &sa, nullptr);
}

bool interrupted() noexcept { return g_interrupted != 0; }

}  // namespace appshare
