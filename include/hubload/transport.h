// The HTTP seam. Every byte hubload exchanges with a Hub goes through a
// Transport, so tests can swap in a fake or wrap the real one to inject faults.
// The transport never follows redirects: the Hub client must read the headers
// of a 302 to a CDN and must decide itself whether a token may follow a hop.
#pragma once
#pragma GCC visibility push(default)  // public API: exported by the shared libraries (see CMake)

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hubload/error.h"

namespace hubload {

// Header list with case-insensitive lookup (HTTP names are case-insensitive).
class HttpHeaders {
 public:
  void set(std::string name, std::string value);  // replaces an existing entry
  void add(std::string name, std::string value);  // keeps existing entries
  std::optional<std::string> get(std::string_view name) const;
  bool has(std::string_view name) const { return get(name).has_value(); }
  void remove(std::string_view name);
  const std::vector<std::pair<std::string, std::string>>& entries() const { return entries_; }

 private:
  std::vector<std::pair<std::string, std::string>> entries_;
};

// An inclusive byte range; `last` absent means "to the end" (bytes=first-).
struct ByteRange {
  std::uint64_t first = 0;
  std::optional<std::uint64_t> last;
};

// Receives the body of a 200/206 answer chunk by chunk; an error aborts the
// transfer and becomes the result of send().
using BodySink = std::function<Status(std::span<const char>)>;

struct HttpRequest {
  std::string method = "GET";  // GET or HEAD
  std::string url;
  HttpHeaders headers;
  std::optional<ByteRange> range;
  int connect_timeout_ms = 10000;
  // The transfer fails when fewer than 1 byte/s arrive for this long (a stall).
  int stall_timeout_ms = 30000;
  // Where a 2xx body goes. Without a sink it is collected into
  // HttpResponse::body, up to max_collected_bytes (then an invalid_input error).
  BodySink sink;
  std::uint64_t max_collected_bytes = 64ull << 20;
};

struct HttpResponse {
  int status = 0;
  HttpHeaders headers;
  // The collected body: the whole 2xx body when no sink was given, and the
  // (truncated, 64 KiB) body of any non-2xx answer for error messages.
  std::string body;
};

class Transport {
 public:
  virtual ~Transport() = default;
  // A network-level failure (DNS, refused, reset, stall, timeout) is a network
  // error; any HTTP answer, 4xx and 5xx included, is a response.
  virtual Result<HttpResponse> send(const HttpRequest& request) = 0;
};

// The libcurl transport: one easy handle per request, no automatic redirects,
// no automatic decompression, Accept-Encoding: identity.
std::shared_ptr<Transport> make_curl_transport();

}  // namespace hubload
#pragma GCC visibility pop
