#include "base/text.hpp"

#include <array>
#include <cstdio>

namespace appshare {
namespace {

void append_escaped(std::string& out, unsigned char c)
{
    std::array<char, 8> buf{};
    std::snprintf(buf.data(), buf.size(), "\\x%02x", c);
    out += buf.data();
}

// Length of the valid UTF-8 sequence for a code point >= U+00A0 starting at s[i], or 0.
std::size_t printable_utf8_length(std::string_view s, std::size_t i) noexcept
{
    const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
    const auto cont = [&](std::size_t k) { return i + k < s.size() && (b(k) & 0xC0U) == 0x80U; };
    const unsigned char c = b(0);
    if (c >= 0xC2 && c <= 0xDF && cont(1)) return c == 0xC2 && b(1) < 0xA0 ? 0 : 2;  // no C1 controls
    if (c >= 0xE0 && c <= 0xEF && cont(1) && cont(2)) {
        if (c == 0xE0 && b(1) < 0xA0) return 0;   // overlong
        if (c == 0xED && b(1) >= 0xA0) return 0;  // UTF-16 surrogates
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4 && cont(1) && cont(2) && cont(3)) {
        if (c == 0xF0 && b(1) < 0x90) return 0;   // overlong
        if (c == 0xF4 && b(1) >= 0x90) return 0;  // above U+10FFFF
        return 4;
    }
    return 0;
}

}  // namespace

bool is_ascii_space(char c) noexcept
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

bool is_plain_name(std::string_view s, std::size_t max_bytes) noexcept
{
    const auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); };
    if (s.empty() || s.size() > max_bytes || !alnum(s.front())) return false;
    for (const char c : s) {
        if (!alnum(c) && c != '.' && c != '_' && c != '-') return false;
    }
    return s.find("..") == std::string_view::npos;
}

std::string_view trim(std::string_view s) noexcept
{
    while (!s.empty() && is_ascii_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_ascii_space(s.back())) s.remove_suffix(1);
    return s;
}

namespace {

std::string escape_for_output(std::string_view s, bool keep_backslash)
{
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x20 && c < 0x7f && (c != '\\' || keep_backslash)) {
            out.push_back(static_cast<char>(c));
            ++i;
        } else if (const std::size_t n = c >= 0x80 ? printable_utf8_length(s, i) : 0; n > 0) {
            out.append(s.substr(i, n));
            i += n;
        } else {
            append_escaped(out, c);
            ++i;
        }
    }
    return out;
}

}  // namespace

std::string printable(std::string_view s) { return escape_for_output(s, false); }

std::string printable_message(std::string_view s) { return escape_for_output(s, true); }

std::string in_quotes(std::string_view s, char quote, std::size_t max_bytes)
{
    const bool cut = s.size() > max_bytes;
    std::string out(1, quote);
    out += printable(cut ? s.substr(0, max_bytes) : s);
    if (cut) out += "...";
    out.push_back(quote);
    return out;
}

std::string quoted_value(std::string_view s)
{
    return in_quotes(s, '"', 80);
}

}  // namespace appshare
