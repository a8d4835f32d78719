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

// A refusal is a sentence a user can read: never empty.
inline void require_message(const Error& e) { require(!e.message.empty(), "a refusal has an empty message"); }

}  // namespace appshare::fuzz
