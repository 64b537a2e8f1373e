// libFuzzer: the pieces of HTTP text hubload parses itself, on both sides.
// The input is split at its first newline: the first line is a header value
// (Content-Range, Location), the rest a URL path (percent-decoding, as serve
// decodes request paths). Parsers must fail cleanly or keep their invariants.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "hubload/transport.h"
#include "util/percent_encoding.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t newline = input.find('\n');
  const std::string_view value = input.substr(0, newline);
  const std::string_view path = newline == std::string_view::npos ? std::string_view() : input.substr(newline + 1);

  if (auto range = hubload::parse_content_range(value)) {
    if (range->first > range->last || range->last >= range->total) __builtin_trap();
  }
  const std::string url = "https://hub.example/api/models/a/b/tree/main";
  const std::string resolved = hubload::resolve_location(url, value);
  (void)hubload::url_origin(resolved);
  (void)hubload::url_origin(value);

  std::string decoded;
  if (hubload::util_internal::percent_decode(path, decoded)) {
    // Encoding what was decoded and decoding again gives the same bytes.
    std::string again;
    if (!hubload::util_internal::percent_decode(hubload::util_internal::percent_encode(decoded, true), again) ||
        again != decoded)
      __builtin_trap();
  }
  return 0;
}
