// What the fuzz targets share: the input as text and as bytes, and the one property every
// refusal must have (a message to show), checked so that a violation stops the fuzzer.
#pragma once

#include "base/error.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string_view>

namespace appshare::fuzz {

inline std::string_view as_text(const std::uint8_t* data, std::size_t size)
{
    return {reinterpret_cast<const char*>(data), size};
}

inline std::span<const std::byte> as_bytes(const std::uint8_t* data, std::size_t size)
{
    return {reinterpret_cast<const std::byte*>(data), size};
}

// Stops the run (libFuzzer saves the input) when `holds` is false.
inline void require(bool holds, const char* what)
{
    if (holds) return;
    std::fprintf(stderr, "fuzz property broken: %s\n", what);
    std::abort();
}

// Whether `s` is valid UTF-8 without control characters (C0, DEL, C1): safe on a terminal and in
// a log line. Written here, not taken from base/text, so the oracle is independent of the code.
inline bool is_printable_utf8(std::string_view s)
{
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x20 || c == 0x7f) return false;
        if (c < 0x80) { ++i; continue; }
        const std::size_t len = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
        if (len == 0 || i + len > s.size()) return false;
        std::uint32_t cp = c & (0xff >> (len + 1));
        for (std::size_t k = 1; k < len; ++k) {
            const auto cc = static_cast<unsigned char>(s[i + k]);
            if ((cc & 0xc0) != 0x80) return false;
            cp = (cp << 6) | (cc & 0x3f);
        }
        const std::uint32_t min = len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp <= 0x9f)) return false;
        i += len;
    }
    return true;
}

// A refusal is a sentence a user can read: never empty, and nothing from the input in it can
// move a cursor or forge a log line (the hook logs it, libvirt shows it).
inline void require_message(const Error& e)
{
    require(!e.message.empty(), "a refusal has an empty message");
    require(is_printable_utf8(e.message), "a refusal shows control characters or invalid UTF-8 from its input");
}

}  // namespace appshare::fuzz
