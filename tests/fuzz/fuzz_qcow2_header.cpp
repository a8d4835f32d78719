// Fuzz target: the qcow2 header reader (image/qcow2_header.hpp) and the image safety check built
// on it (image/image_check.hpp), on the leading bytes of an image file anyone who can write the
// shared storage or a bundle controls. The bytes are the whole file; the header reader is also
// given them as the prefix of a much larger file (names and extensions may then lie beyond).
#include "fuzz_support.hpp"
#include "image/image_check.hpp"
#include "image/qcow2_header.hpp"

#include <algorithm>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    using namespace appshare;
    const auto bytes = fuzz::as_bytes(data, size);
    for (const std::uint64_t file_size : {std::uint64_t{size}, std::uint64_t{size} + (std::uint64_t{1} << 40)}) {
        const auto header = parse_qcow2_header(bytes, file_size, "fuzz:image");
        if (!header) {
            fuzz::require_message(header.error());
        } else {
            fuzz::require(header->version == 2 || header->version == 3, "accepted a qcow2 version other than 2 or 3");
            fuzz::require(header->cluster_bits >= 9 && header->cluster_bits <= 21, "accepted cluster_bits out of range");
        }
    }
    for (const char* format : {"qcow2", "raw"}) {
        const auto facts = check_image_prefix(bytes.first(std::min(size, kImageCheckPrefixBytes)), size, format, "fuzz:image");
        if (!facts) {
            fuzz::require_message(facts.error());
            continue;
        }
        const bool plain = !facts->qcow2 || (!facts->qcow2->backing_file && !facts->qcow2->data_file &&
                                             !facts->qcow2->external_data_file && facts->qcow2->crypt_method == 0);
        fuzz::require(plain, "accepted an image with a backing file, data file or encryption");
    }
    return 0;
}
