// What the engine needs from a response's headers, collected by curl's header
// callback. Reset at every status line (redirects send several).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace hubload::transfer {

struct ContentRange {
  unsigned long long first = 0, last = 0, total = 0;
};

struct ResponseHeaders {
  std::string content_range;
  std::string retry_after;
  std::string ratelimit;

  // Feeds one raw header line ("Name: value\r\n" or a status line).
  void on_line(std::string_view line);
};

// "bytes 0-99/1000" -> {0, 99, 1000}; anything else -> nullopt.
std::optional<ContentRange> parse_content_range(std::string_view value);

}  // namespace hubload::transfer
