// The part of a request the connection loop reads before any worker sees it:
// the request line and the headers. Pure, so the framing rules that keep a
// body from being read as the next request are table-tested.
#pragma once

#include <httplib.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hubload::serve_internal {

// Where a request head ends: the offset just past "\r\n\r\n", nullopt while it is incomplete.
std::optional<std::size_t> head_end(std::string_view buffered);

struct RequestHead {
  httplib::Request request;  // method, target, decoded path, query params, headers
  std::uint64_t content_length = 0;
  bool chunked = false;  // Transfer-Encoding present: the body's length is not known up front
  bool has_body() const { return chunked || content_length > 0; }
};

// Parses a complete head (as found by head_end). nullopt for a malformed request
// line, header line or Content-Length (answered 400 without reading further).
std::optional<RequestHead> parse_request_head(std::string_view head);

}  // namespace hubload::serve_internal
