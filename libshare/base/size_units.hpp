// Byte sizes with libvirt's unit names: parsing with overflow checks, and a human formatter.
//
// Units (case-sensitive): B, bytes (1); K, k, KiB (1024); M, MiB; G, GiB; T, TiB (powers of
// 1024); KB, MB, GB, TB (powers of 1000), as libvirt's <memory unit=...> accepts them.
#pragma once

#include "base/error.hpp"
#include "base/result.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace appshare {

// Bytes per `unit`, or nullopt for an unknown unit name.
[[nodiscard]] std::optional<std::uint64_t> unit_multiplier(std::string_view unit) noexcept;

// The unit names unit_multiplier accepts, for messages: "B, bytes, K, k, KiB, ...".
[[nodiscard]] std::string_view known_size_units() noexcept;

// Parses a decimal number: digits only, surrounding ASCII whitespace allowed, no sign, no
// hex, no separators; fails (with `code`) if empty, not digits, or above UINT64_MAX.
// Messages read "<origin>: <field> ...".
[[nodiscard]] Result<std::uint64_t> parse_decimal(std::string_view text, std::string_view origin,
                                                  std::string_view field,
                                                  ErrorCode code = ErrorCode::BadManifest);

// Parses `digits` (as parse_decimal) scaled by `unit` into bytes. An empty `unit` means
// `default_unit`. Fails with `code` for an unknown unit or when the product overflows 64 bits
// (never wraps).
[[nodiscard]] Result<std::uint64_t> parse_size(std::string_view digits, std::string_view unit,
                                               std::string_view default_unit, std::string_view origin,
                                               std::string_view field, ErrorCode code = ErrorCode::BadManifest);

// Parses a size written as one string, number then optional unit: "8G", "8 GiB", "512".
// For command-line options; same rules as parse_size.
[[nodiscard]] Result<std::uint64_t> parse_size_text(std::string_view text, std::string_view default_unit,
                                                    std::string_view origin, std::string_view field,
                                                    ErrorCode code = ErrorCode::BadManifest);

enum class SizeStyle {
    OneDecimal,  // summaries: "512 B", "1.0 KiB", "460.0 MiB", "16.0 EiB"
    Compact,     // progress lines: "512 B", "1.0 KiB", "9.5 MiB", "460 MiB"
};

// Human form of a size, in powers of 1024.
[[nodiscard]] std::string format_size(std::uint64_t bytes, SizeStyle style = SizeStyle::OneDecimal);

}  // namespace appshare
