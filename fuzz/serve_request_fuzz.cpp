// libFuzzer: what `hubload serve` reads from a client before answering. The
// input is a request as sent: the head goes to the real head parser (request
// line, headers, Content-Length, query string), its target to the router
// (percent-decoded paths, revisions, traversal), its Range header to the
// range rules, and what follows the head to the paths-info body parser.
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string_view>

#include "hubload/cache.h"
#include "serve/body.h"
#include "serve/paths_info_request.h"
#include "serve/request_head.h"
#include "serve/route.h"

namespace {

using namespace hubload::serve_internal;

void check_route(std::string_view target) {
  const Route route = parse_route(target);
  const bool file_route = route.kind == Route::Kind::resolve || route.kind == Route::Kind::tree;
  // A path the server will open is a valid repo path: no traversal, no absolute path.
  if (file_route && !route.path.empty() && !hubload::validate_repo_file_path(route.path)) __builtin_trap();
  if (route.kind != Route::Kind::bad_path && route.repo_id.find("..") != std::string::npos) __builtin_trap();
}

void check_range(std::string_view header) {
  for (std::uint64_t size : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{4096},
                             std::numeric_limits<std::uint64_t>::max()}) {
    const RangeRequest range = parse_range(header, size);
    if (range.kind == RangeRequest::Kind::satisfiable && (range.first > range.last || range.last >= size)) {
      __builtin_trap();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  check_route(input.substr(0, input.find_first_of("\r\n")));
  check_range(input.substr(0, input.find_first_of("\r\n")));

  const std::optional<std::size_t> end = head_end(input);
  if (!end) return 0;
  if (*end > input.size() || input.substr(*end - 4, 4) != "\r\n\r\n") __builtin_trap();
  std::optional<RequestHead> head = parse_request_head(input.substr(0, *end));
  if (!head) return 0;
  if (head->chunked || head->content_length > 0) {
    if (!head->has_body()) __builtin_trap();
  }
  httplib::Request& request = head->request;
  check_route(request.target);
  if (request.has_header("Range")) check_range(request.get_header_value("Range"));
  request.body = std::string(input.substr(*end));
  if (std::optional<PathsInfoRequest> asked = parse_paths_info_request(request)) {
    for (const std::string& path : asked->paths) {
      if (path.size() > request.body.size() + request.target.size()) __builtin_trap();  // nothing invented
    }
  }
  return 0;
}
