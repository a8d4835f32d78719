// Fuzz target: the bundle manifest parser (bundle/manifest.hpp), on the bytes of an
// appliance.xml as a bundle (directory or tar, untrusted) brings them, with the real schema.
#include "bundle/manifest.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    using namespace appshare;
    const auto manifest = parse_manifest(fuzz::as_text(data, size), "fuzz:appliance.xml", APPSHARE_FUZZ_SCHEMA);
    if (!manifest) {
        fuzz::require_message(manifest.error());
        return 0;
    }
    fuzz::require(manifest->overlay_size >= manifest->image.virtual_size, "overlay smaller than the base");
    fuzz::require(manifest->vcpus >= 1 && manifest->vcpus <= 4096, "vcpus out of range");
    return 0;
}
