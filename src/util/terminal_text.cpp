#include "util/terminal_text.h"

#include <cstdio>

namespace hubload::util_internal {
namespace {

void append_escape(std::string& out, const char* format, unsigned value) {
  char buf[8];
  std::snprintf(buf, sizeof buf, format, value);
  out += buf;
}

// Length of the valid UTF-8 sequence at the start of `s` (1-4) and its code
// point, or 0 when it is not one (overlong, surrogate, truncated, stray byte).
std::size_t utf8_sequence(std::string_view s, char32_t& code) {
  const auto b0 = static_cast<unsigned char>(s[0]);
  std::size_t len = 0;
  if (b0 < 0x80) {
    code = b0;
    return 1;
  }
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    len = 2;
    code = b0 & 0x1f;
  } else if (b0 >= 0xe0 && b0 <= 0xef) {
    len = 3;
    code = b0 & 0x0f;
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    len = 4;
    code = b0 & 0x07;
  } else {
    return 0;
  }
  if (s.size() < len) return 0;
  for (std::size_t i = 1; i < len; ++i) {
    const auto b = static_cast<unsigned char>(s[i]);
    if ((b & 0xc0) != 0x80) return 0;
    code = (code << 6) | (b & 0x3f);
  }
  const bool overlong = (len == 3 && code < 0x800) || (len == 4 && code < 0x10000);
  if (overlong || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return 0;
  return len;
}

}  // namespace

namespace {

std::string escape_controls(std::string_view text, bool keep_lines) {
  std::string out;
  out.reserve(text.size());
  while (!text.empty()) {
    char32_t code = 0;
    const std::size_t len = utf8_sequence(text, code);
    if (len == 0) {
      append_escape(out, "\\x%02x", static_cast<unsigned char>(text[0]));
      text.remove_prefix(1);
      continue;
    }
    if (keep_lines && (code == '\n' || code == '\t')) {
      out += static_cast<char>(code);
    } else if (code < 0x20 || code == 0x7f) {
      append_escape(out, "\\x%02x", static_cast<unsigned>(code));
    } else if (code >= 0x80 && code <= 0x9f) {
      append_escape(out, "\\u%04x", static_cast<unsigned>(code));
    } else {
      out.append(text.substr(0, len));
    }
    text.remove_prefix(len);
  }
  return out;
}

}  // namespace

std::string terminal_safe(std::string_view text) { return escape_controls(text, false); }

std::string terminal_safe_lines(std::string_view text) { return escape_controls(text, true); }

std::string terminal_excerpt(std::string_view text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return terminal_safe(text);
  std::size_t cut = max_bytes;
  // Back up to a character boundary (never into a UTF-8 continuation byte).
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xc0) == 0x80) --cut;
  return terminal_safe(text.substr(0, cut)) + "...";
}

}  // namespace hubload::util_internal
