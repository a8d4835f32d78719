// Fuzz target: OVF envelopes and .mf digest lists (bundle/ovf_envelope.hpp), which `appshare
// import` reads from an OVA or OVF package someone else made.
#include "bundle/ovf_envelope.hpp"
#include "fuzz_support.hpp"

#include <algorithm>
#include <cctype>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    using namespace appshare;
    const auto text = fuzz::as_text(data, size);

    const auto envelope = parse_ovf_envelope(text, "fuzz:appliance.ovf");
    if (!envelope) {
        fuzz::require_message(envelope.error());
    } else {
        fuzz::require(!envelope->disk.href.empty(), "an accepted envelope names no disk file");
        const auto& f = envelope->disk.format;
        fuzz::require(f == "vmdk" || f == "qcow2" || f == "raw", "an accepted envelope has a disk format import cannot convert");
        for (const auto& warning : envelope->warnings)
            fuzz::require(!warning.empty() && fuzz::is_printable_utf8(warning),
                          "a warning is empty or shows control characters from its input");
    }

    const auto digests = parse_ovf_digests(text, "fuzz:appliance.mf");
    if (!digests) {
        fuzz::require_message(digests.error());
        return 0;
    }
    for (const auto& d : *digests) {
        fuzz::require(d.algorithm == "SHA256" || d.algorithm == "SHA1", "an accepted digest has another algorithm");
        fuzz::require(d.hex.size() == (d.algorithm == "SHA256" ? 64u : 40u), "an accepted digest has the wrong length");
        fuzz::require(std::all_of(d.hex.begin(), d.hex.end(),
                                  [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) && !std::isupper(static_cast<unsigned char>(c)); }),
                      "an accepted digest is not lowercase hex");
        fuzz::require(!d.file.empty(), "an accepted digest names no file");
    }
    return 0;
}
