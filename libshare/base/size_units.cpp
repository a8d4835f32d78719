#include "base/size_units.hpp"

#include "base/text.hpp"

#include <array>
#include <cstdio>
#include <limits>
#include <utility>

namespace appshare {
namespace {

constexpr std::uint64_t kKi = 1024;
constexpr std::uint64_t kK = 1000;

constexpr std::array<std::pair<std::string_view, std::uint64_t>, 15> kUnits{{
    {"B", 1},
    {"bytes", 1},
    {"K", kKi},
    {"k", kKi},
    {"KiB", kKi},
    {"M", kKi * kKi},
    {"MiB", kKi * kKi},
    {"G", kKi * kKi * kKi},
    {"GiB", kKi * kKi * kKi},
    {"T", kKi * kKi * kKi * kKi},
    {"TiB", kKi * kKi * kKi * kKi},
    {"KB", kK},
    {"MB", kK * kK},
    {"GB", kK * kK * kK},
    {"TB", kK * kK * kK * kK},
}};

}  // namespace

std::optional<std::uint64_t> unit_multiplier(std::string_view unit) noexcept
{
    for (const auto& [name, factor] : kUnits) {
        if (name == unit) return factor;
    }
    return std::nullopt;
}

std::string_view known_size_units() noexcept
{
    return "B, bytes, K, k, KiB, M, MiB, G, GiB, T, TiB, KB, MB, GB, TB";
}

Result<std::uint64_t> parse_decimal(std::string_view text, std::string_view origin, std::string_view field,
                                    ErrorCode code)
{
    const std::string_view digits = trim(text);
    const std::string where = std::string{origin} + ": " + std::string{field};
    if (digits.empty()) {
        return make_error(code, where + " is empty; write a whole number in decimal digits.");
    }
    std::uint64_t value = 0;
    constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();
    for (const char c : digits) {
        if (c < '0' || c > '9') {
            return make_error(code, where + " " + quoted_value(digits) +
                                        " is not a whole number; write decimal digits only (no sign, unit or spaces).");
        }
        const auto d = static_cast<std::uint64_t>(c - '0');
        if (value > (kMax - d) / 10) {
            return make_error(code, where + " " + quoted_value(digits) +
                                        " is too large (it overflows 64 bits); use a smaller number.");
        }
        value = value * 10 + d;
    }
    return value;
}

Result<std::uint64_t> parse_size(std::string_view digits, std::string_view unit, std::string_view default_unit,
                                 std::string_view origin, std::string_view field, ErrorCode code)
{
    const std::string_view u = unit.empty() ? default_unit : trim(unit);
    const auto factor = unit_multiplier(u);
    if (!factor) {
        return make_error(code, std::string{origin} + ": " + std::string{field} + " has unknown unit " + quoted_value(u) +
                                    "; use one of " + std::string{known_size_units()} + ".");
    }
    auto number = parse_decimal(digits, origin, field, code);
    if (!number) return std::move(number).error();
    if (*number > std::numeric_limits<std::uint64_t>::max() / *factor) {
        return make_error(code, std::string{origin} + ": " + std::string{field} + " " + quoted_value(trim(digits)) + " " +
                                    std::string{u} +
                                    " is too large (it overflows 64 bits of bytes); use a smaller size.");
    }
    return *number * *factor;
}

Result<std::uint64_t> parse_size_text(std::string_view text, std::string_view default_unit, std::string_view origin,
                                      std::string_view field, ErrorCode code)
{
    const std::string_view t = trim(text);
    std::size_t split = 0;
    while (split < t.size() && t[split] >= '0' && t[split] <= '9') ++split;
    if (split == 0) {
        return make_error(code, std::string{origin} + ": " + std::string{field} + " " + quoted_value(t) +
                                    " is not a size; write a number with an optional unit, e.g. 8GiB.");
    }
    return parse_size(t.substr(0, split), trim(t.substr(split)), default_unit, origin, field, code);
}

std::string format_size(std::uint64_t bytes, SizeStyle style)
{
    static constexpr std::array<const char*, 7> kNames{"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    if (bytes < kKi) return std::to_string(bytes) + " B";
    std::size_t i = 0;
    auto value = static_cast<long double>(bytes);
    while (value >= 1024.0L && i + 1 < kNames.size()) {
        value /= 1024.0L;
        ++i;
    }
    // Compact: one decimal below 10, none from there on ("9.5 MiB", "460 MiB").
    const bool decimal = style == SizeStyle::OneDecimal || value < 9.95L;
    // Rounding may reach 1024: show it in the next unit instead.
    if (value >= (decimal ? 1023.95L : 1023.5L) && i + 1 < kNames.size()) {
        value /= 1024.0L;
        ++i;
    }
    char buf[64];
    std::snprintf(buf, sizeof buf, decimal || value < 9.95L ? "%.1Lf %s" : "%.0Lf %s", value, kNames[i]);
    return buf;
}

}  // namespace appshare
