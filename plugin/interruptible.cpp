#include "commands.hpp"

#include "base/interrupt.hpp"

#include <utility>

namespace appshare::cli {

Action interruptible(Action action)
{
    return [action = std::move(action)] {
        install_interrupt_handlers();
        return action();
    };
}

}  // namespace appshare::cli
