// Fuzz target: instance.json (instance/instance_state.hpp), which the hook, reshare and list read
// from a context directory. What parses must come back the same through format_instance_state.
#include "fuzz_support.hpp"
#include "instance/instance_state.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    using namespace appshare;
    const auto state = parse_instance_state(fuzz::as_text(data, size), "fuzz:instance.json");
    if (!state) {
        fuzz::require_message(state.error());
        return 0;
    }
    const auto again = parse_instance_state(format_instance_state(*state), "fuzz:formatted");
    fuzz::require(again.has_value(), "a parsed state does not parse again once formatted");
    fuzz::require(again->mode == state->mode && again->since == state->since && again->reason == state->reason &&
                      again->base == state->base,
                  "a parsed state changes once formatted and parsed again");
    return 0;
}
