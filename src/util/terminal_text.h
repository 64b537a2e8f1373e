// Text that came from a server (file names, error pages, etags, commits) made
// safe for a terminal: a name holding ESC[2J must not clear the user's screen.
// The one sanitiser of the project; the library applies it where a server
// string enters an error message, the CLI where it prints one.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace hubload::util_internal {

// Control characters (C0, DEL, C1 such as the 8-bit CSI 0x9b) become `\xNN`
// (or `\u00NN` for a UTF-8 encoded C1), bytes that are not valid UTF-8 become
// `\xNN`; everything else, printable UTF-8 included, is kept. Text that is
// already safe comes back unchanged, so applying it twice is harmless.
std::string terminal_safe(std::string_view text);

// The same, but line feeds and tabs are kept: for a whole message of ours
// (several lines, perhaps) that quotes server strings.
std::string terminal_safe_lines(std::string_view text);

// At most `max_bytes` of `text` (cut at a character boundary, "..." appended
// when cut), made terminal_safe: how an error message quotes a server's body.
std::string terminal_excerpt(std::string_view text, std::size_t max_bytes = 200);

}  // namespace hubload::util_internal
