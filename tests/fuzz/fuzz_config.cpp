// Fuzz target: the configuration file parser (instance/config.hpp) on arbitrary text. The file
// is root's, but the hook reads it at every start: it must refuse, never crash or hang.
#include "fuzz_support.hpp"
#include "instance/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    using namespace appshare;
    const auto config = parse_config(fuzz::as_text(data, size), "fuzz:appshare.conf");
    if (!config) {
        fuzz::require_message(config.error());
        return 0;
    }
    for (const auto* root : {&config->shared_root, &config->context_root, &config->local_root}) {
        fuzz::require(root->is_absolute(), "accepted a root that is not absolute");
    }
    fuzz::require(config->storage_timeout.count() >= 1, "accepted a storage timeout below one second");
    return 0;
}
