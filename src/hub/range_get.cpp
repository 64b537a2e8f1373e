#include "hub/range_get.h"

#include <charconv>

#include <fmt/format.h>

#include "hub/file_metadata.h"

namespace hubload::hub_internal {
namespace {

std::optional<std::uint64_t> parse_u64(std::string_view text) {
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// Collects a body up to `cap` bytes, then aborts the transfer: a server that
// answers a Range request with the whole file costs us `cap` bytes, not the file.
class CappedBody {
 public:
  explicit CappedBody(std::uint64_t cap) : cap_(cap) {}
  BodySink sink() {
    return [this](std::span<const char> chunk) -> Status {
      const std::uint64_t room = cap_ - bytes_.size();
      if (chunk.size() > room) {
        bytes_.append(chunk.data(), room);
        overflowed_ = true;
        return Error(ErrorKind::cancelled, "body longer than the range asked for");
      }
      bytes_.append(chunk.data(), chunk.size());
      return ok();
    };
  }
  std::string& bytes() { return bytes_; }
  bool overflowed() const { return overflowed_; }
  void reset() { bytes_.clear(); overflowed_ = false; }

 private:
  std::uint64_t cap_;
  std::string bytes_;
  bool overflowed_ = false;
};

}  // namespace

Result<RangeBytes> get_range(const HubContext& ctx, const std::string& url, std::uint64_t first, std::uint64_t last,
                             std::string_view prefix_from_zero) {
  const std::uint64_t want = last - first + 1;
  // A full-file answer starts at byte 0: keeping first + want bytes covers the range.
  CappedBody body(first + want);
  HttpRequest request = make_request(ctx, "GET", url);
  request.range = ByteRange{first, last};
  request.sink = body.sink();
  const std::string what = fmt::format("bytes {}-{} of {}", first, last, url);

  RangeBytes out;
  Result<Answer> answer = send_following_relative(ctx, request);
  if (answer && answer->response.status >= 300 && answer->response.status < 400) {
    const HttpHeaders& hub_headers = answer->response.headers;
    if (auto linked = hub_headers.get("X-Linked-Size")) out.file_size = parse_u64(*linked);
    const std::string target = resolve_location(answer->url, *hub_headers.get("Location"));
    if (Status allowed = check_redirect_target(ctx.endpoint, target); !allowed) {
      return std::move(allowed).error().with_context(what);
    }
    HttpRequest cdn = make_request(ctx, "GET", target);
    cdn.range = request.range;
    body.reset();
    cdn.sink = body.sink();
    Result<HttpResponse> response = ctx.transport->send(cdn);
    if (response) {
      answer = Answer{std::move(*response), cdn.url};
    } else {
      answer = std::move(response).error();
    }
  }
  if (body.overflowed()) {
    // More bytes than asked: the server ignored Range and sent the file from
    // byte 0 (the transfer was aborted after first + want bytes).
    if (body.bytes().compare(0, prefix_from_zero.size(), prefix_from_zero) != 0) {
      return invalid_input(fmt::format("{}: the server sent more bytes than asked for, not from the file's start", what));
    }
    out.bytes = body.bytes().substr(first);
    out.server_ignored_range = true;
    return out;
  }
  if (!answer) return std::move(answer).error().with_context(what);
  const HttpResponse& response = answer->response;
  if (response.status == 206) {
    const std::string content_range = response.headers.get("Content-Range").value_or("");
    const std::optional<ContentRange> range = parse_content_range(content_range);
    if (!range || range->first != first) {
      return invalid_input(fmt::format("{}: {} answered 206 with Content-Range '{}'", what, answer->url, content_range));
    }
    if (body.bytes().size() > want) {
      return invalid_input(fmt::format("{}: {} sent more bytes than asked for", what, answer->url));
    }
    out.file_size = range->total;
    out.bytes = std::move(body.bytes());
    return out;
  }
  if (response.status == 200) {  // the whole file, and it was no longer than what we would keep
    out.file_size = body.bytes().size();
    out.bytes = first < body.bytes().size() ? body.bytes().substr(first, want) : std::string();
    out.server_ignored_range = true;
    return out;
  }
  return hub_error(response, answer->url, what);
}


}  // namespace hubload::hub_internal
