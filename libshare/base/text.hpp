// Text from outside (manifests, configuration, domain metadata, image headers, files on shared
// storage) as appshare trims it and shows it in messages and logs.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace appshare {

// ASCII white space: space, \t, \n, \r, \f, \v.
[[nodiscard]] bool is_ascii_space(char c) noexcept;

// Whether `s` is a plain name, as appshare writes host and instance names into file names on
// shared storage and accepts them back: 1 to `max_bytes` ASCII letters, digits, '.', '_' or
// '-', starting with a letter or digit, without "..".
[[nodiscard]] bool is_plain_name(std::string_view s, std::size_t max_bytes) noexcept;

// `s` without leading and trailing ASCII white space.
[[nodiscard]] std::string_view trim(std::string_view s) noexcept;

// `s` safe to print on a terminal or write into a log line: valid UTF-8 above the control range
// stays as it is; control characters (C0, DEL, C1), the backslash and bytes that are not valid
// UTF-8 are written as \xNN, so nothing from outside can move the cursor, forge a log line or
// hide what it is.
[[nodiscard]] std::string printable(std::string_view s);

// A whole message or log line on its way out (to a log, a terminal, libvirt's error), assembled
// from pieces some of which printable() already escaped: escapes control characters and invalid
// UTF-8 as printable() does, but keeps backslashes, so nothing is escaped twice. The last word on
// everything the hook logs or refuses with and the command prints as an error or notice.
[[nodiscard]] std::string printable_message(std::string_view s);

// printable(s) between `quote` characters, cut after `max_bytes` bytes of `s` with "..." before
// the closing quote: "value", 'name'.
[[nodiscard]] std::string in_quotes(std::string_view s, char quote = '"',
                                 std::size_t max_bytes = std::string_view::npos);

// A value read from a document, as a message shows it: in_quotes(s, '"', 80).
[[nodiscard]] std::string quoted_value(std::string_view s);

}  // namespace appshare
