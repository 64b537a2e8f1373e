// A bounded GET of one byte range of a Hub file, following the Hub's relative
// redirects and one hop to a CDN (which never gets the token). A server that
// ignores Range costs at most the bytes up to the range's end: the body is
// collected that far, then the transfer is aborted. Private to src/hub.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "hub/hub_context.h"

namespace hubload::hub_internal {

struct RangeBytes {
  std::string bytes;                       // file bytes from range.first on
  std::optional<std::uint64_t> file_size;  // Content-Range total, X-Linked-Size, or a whole 200 body
  bool server_ignored_range = false;
};

// GET bytes [first, last] of `url`. `prefix_from_zero` holds the file's first
// bytes when known, to recognise a full body that was cut short.
Result<RangeBytes> get_range(const HubContext& ctx, const std::string& url, std::uint64_t first, std::uint64_t last,
                             std::string_view prefix_from_zero);

}  // namespace hubload::hub_internal
