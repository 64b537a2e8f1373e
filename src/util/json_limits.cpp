#include "util/json_limits.h"

#include <string>

namespace hubload::util_internal {

Status check_json_limits(std::string_view text, std::string_view what, const JsonLimits& limits) {
  std::size_t depth = 0;
  std::size_t values = 0;
  bool in_string = false;
  bool in_scalar = false;  // inside a number or a literal (true, false, null)
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
      continue;
    }
    const bool scalar_char = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c == '-' || c == '+' || c == '.' ||
                             (c >= 'A' && c <= 'Z');
    if (scalar_char) {
      if (!in_scalar) ++values;
      in_scalar = true;
    } else {
      in_scalar = false;
    }
    if (c == '"') {
      in_string = true;
      ++values;  // keys too: each costs the parser a string
    } else if (c == '{' || c == '[') {
      ++values;
      if (++depth > limits.max_depth) {
        return invalid_input(std::string(what) + ": JSON nested deeper than " + std::to_string(limits.max_depth) +
                             " levels (at byte " + std::to_string(i) + ")");
      }
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    }
    if (values > limits.max_values) {
      return invalid_input(std::string(what) + ": JSON holds more than " + std::to_string(limits.max_values) +
                           " values (at byte " + std::to_string(i) + ")");
    }
  }
  return ok();
}

}  // namespace hubload::util_internal
