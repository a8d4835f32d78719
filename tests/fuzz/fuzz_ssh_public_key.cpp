// Fuzz target: OpenSSH public key files (base/ssh_public_key.hpp), which `install --ssh-key`
// reads from any file the user names and puts into a guest's seed. What parses must be printable
// ASCII and come back the same from its own line.
#include "base/ssh_public_key.hpp"
#include "fuzz_support.hpp"

#include <algorithm>

namespace {

bool printable_ascii(std::string_view s)
{
    return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    using namespace appshare;
    const auto keys = parse_ssh_public_keys(fuzz::as_text(data, size), "fuzz:key.pub");
    if (!keys) {
        fuzz::require_message(keys.error());
        return 0;
    }
    fuzz::require(!keys->empty(), "a key file was accepted with no key in it");
    for (const auto& key : *keys) {
        fuzz::require(!key.type.empty() && !key.base64.empty(), "an accepted key has no type or no blob");
        fuzz::require(key.type.find(' ') == std::string::npos && key.base64.find(' ') == std::string::npos,
                      "an accepted key's type or blob holds a space");
        fuzz::require(printable_ascii(key.line()), "an accepted key's line is not printable ASCII");
        const auto again = parse_ssh_public_keys(key.line(), "fuzz:line");
        fuzz::require(again.has_value() && again->size() == 1, "an accepted key's own line does not parse alone");
        fuzz::require(again->front().line() == key.line(), "an accepted key changes once written and parsed again");
    }
    return 0;
}
