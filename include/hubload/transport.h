// The HTTP seam. Every byte hubload exchanges with a Hub goes through a
// Transport, so tests can swap in a fake or wrap the real one to inject faults.
// The transport never follows redirects: the Hub client must read the headers
// of a 302 to a CDN and must decide itself whether a token may follow a hop.
#pragma once
#pragma GCC visibility push(default)  // public API: exported by the shared libraries (see CMake)

#include <chrono>
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
  std::chrono::milliseconds connect_timeout{10'000};
  // The transfer fails when fewer than `min_rate` bytes/s arrive over this long
  // (a stall, or a drip). Zero: no limit (the transfer engine watches its
  // connections itself).
  std::chrono::milliseconds stall_timeout{30'000};
  std::uint64_t min_rate = 1;
  // The whole request, connect to last byte, must end within this. Zero: no
  // deadline.
  std::chrono::milliseconds total_timeout{0};
  // Where a 2xx body goes (send() only). Without a sink it is collected into
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

// The callbacks of one asynchronous transfer (TransferSession). They run on
// the thread that calls poll(), from inside it.
struct TransferHandler {
  // The status and headers of the answer, once, before any of its body.
  std::function<void(int status, const HttpHeaders& headers)> on_response;
  // A piece of the body (of any answer, error pages included). Returning false
  // stops the transfer; on_done then reports an aborted (network) error.
  std::function<bool(std::span<const char>)> on_body;
  // The end: ok when the whole answer arrived, else the network-level failure.
  // Not called for a cancelled transfer.
  std::function<void(Status)> on_done;
};

using TransferId = std::uint64_t;

// Many transfers at once, driven by one thread: the transfer engine's view of
// the network. Not thread-safe; one session per engine run.
class TransferSession {
 public:
  virtual ~TransferSession() = default;
  // Queues a transfer; it runs inside poll(). request.sink is ignored (the
  // body goes to handler.on_body).
  virtual Result<TransferId> start(HttpRequest request, TransferHandler handler) = 0;
  // Stops a transfer; none of its callbacks runs afterwards. Safe from inside
  // any callback; an unknown or finished id is ignored.
  virtual void cancel(TransferId id) = 0;
  // Moves every transfer forward, waiting up to `timeout` for the network when
  // nothing is ready, and dispatches the callbacks.
  virtual Status poll(std::chrono::milliseconds timeout) = 0;
};

class Transport {
 public:
  virtual ~Transport() = default;
  // A network-level failure (DNS, refused, reset, stall, timeout) is a network
  // error; any HTTP answer, 4xx and 5xx included, is a response.
  virtual Result<HttpResponse> send(const HttpRequest& request) = 0;
  // A session for up to `max_connections` transfers at once. The default runs
  // one transfer at a time through send(), so a Transport that only knows
  // send() still gets ranges, resume and retries from the engine.
  virtual Result<std::unique_ptr<TransferSession>> open_session(int max_connections);
};

// The libcurl transport: one easy handle per request (a multi handle per
// session), no automatic redirects, no automatic decompression,
// Accept-Encoding: identity, and no protocol but http and https.
std::shared_ptr<Transport> make_curl_transport();

// "scheme://host[:port]" of a URL (lower-cased), empty when it has none.
std::string url_origin(std::string_view url);

// Where a redirect's Location points, resolved against the URL that answered.
std::string resolve_location(std::string_view url, std::string_view location);

// Only http:// and https:// URLs are ever fetched (never file://, gopher://,
// dict://, ftp://, ...): else an invalid_input error quoting the URL, made safe
// for a terminal. make_curl_transport() refuses the others as well.
Status check_fetchable_url(std::string_view url);

// A redirect in a chain of requests that began at `start` (the endpoint, or the
// file's own URL) may go to `target` only if it is fetchable and the chain does
// not fall from https to plain http (allowed when `start` itself is http).
Status check_redirect_target(std::string_view start, std::string_view target);

// "bytes 0-99/1000" -> {0, 99, 1000}; anything else (e.g. "bytes */1000", or a
// range that does not lie inside the length it states) -> nullopt.
struct ContentRange {
  std::uint64_t first = 0, last = 0, total = 0;
};
std::optional<ContentRange> parse_content_range(std::string_view value);

}  // namespace hubload
#pragma GCC visibility pop
