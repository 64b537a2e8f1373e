// A byte range of one repo file, for header-only reads of remote safetensors.
#include <fmt/format.h>

#include "hub/file_metadata.h"

namespace hubload {
namespace {

constexpr std::uint64_t kMaxRangeBytes = 64ull << 20;

}  // namespace

Result<std::string> fetch_file_range(std::string_view repo_id, std::string_view path, ByteRange range,
                                     const HubOptions& options) {
  using namespace hub_internal;
  HUBLOAD_TRY(validate_repo_file_path(path));
  if (range.last && *range.last < range.first) {
    return invalid_input(fmt::format("byte range {}-{} of {} is empty", range.first, *range.last, path));
  }
  if (!range.last || *range.last - range.first + 1 > kMaxRangeBytes) {
    return invalid_input(fmt::format("byte range of {} must be bounded and at most {} bytes", path, kMaxRangeBytes));
  }
  HUBLOAD_ASSIGN_OR_RETURN(HubContext ctx, make_context(repo_id, options));
  if (ctx.offline) {
    return Error(ErrorKind::offline, fmt::format("reading bytes of {} in {} needs the network, and offline mode is on",
                                                 path, repo_id));
  }
  const std::string url = resolve_url(ctx, options.revision, path);
  HttpRequest request = make_request(ctx, "GET", url);
  request.range = range;
  request.max_collected_bytes = kMaxRangeBytes;
  HUBLOAD_ASSIGN_OR_RETURN(Answer answer, send_following_relative(ctx, request));
  if (answer.response.status >= 300 && answer.response.status < 400) {
    // The CDN hop: the Location is pre-signed, and the token stays behind.
    HttpRequest cdn = make_request(ctx, "GET", *answer.response.headers.get("Location"));
    cdn.range = range;
    cdn.max_collected_bytes = kMaxRangeBytes;
    HUBLOAD_ASSIGN_OR_RETURN(HttpResponse response, ctx.transport->send(cdn));
    answer = Answer{std::move(response), cdn.url};
  }
  const HttpResponse& response = answer.response;
  const std::string what = fmt::format("bytes {}-{} of {} in {}", range.first, *range.last, path, repo_id);
  const std::uint64_t want = *range.last - range.first + 1;
  if (response.status == 206) {
    const std::string expected = fmt::format("bytes {}-", range.first);
    if (!response.headers.get("Content-Range").value_or("").starts_with(expected)) {
      return invalid_input(fmt::format("{}: {} answered 206 with Content-Range '{}'", what, answer.url,
                                       response.headers.get("Content-Range").value_or("")));
    }
    if (response.body.size() > want) return invalid_input(fmt::format("{}: {} sent more bytes than asked", what, answer.url));
    return response.body;
  }
  if (response.status == 200) {  // a server that ignores Range: slice the full body
    if (range.first >= response.body.size()) return std::string();
    return response.body.substr(range.first, want);
  }
  return hub_error(response, answer.url, what);
}

}  // namespace hubload
