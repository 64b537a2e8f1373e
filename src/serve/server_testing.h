// What tests and `hubload serve --test-mode` see of a Server beyond the public
// API: the GET /_hubload/stats endpoint (request counts, which would tell any
// client what others fetched, so it is never on by default) and the count of
// CDN requests that arrived with a token, and the paths the repo sources stat.
#pragma once

#include <cstdint>
#include <memory>

#include "hubload/serve.h"

namespace hubload::serve_internal {

struct ServerAccess {
  // Server::start, with GET /_hubload/stats answered when `stats_endpoint` is set.
  static Result<std::unique_ptr<Server>> start(ServeOptions options, bool stats_endpoint);
  // CDN requests that carried an Authorization header since start or reset_stats().
  // Clients must drop the token when they follow the redirect, so tests expect 0.
  static std::uint64_t cdn_requests_with_authorization(const Server& server);
  // Bytes read from clients on all listeners (heads, bodies, discarded input):
  // what tests hold against ServeOptions::max_body_bytes.
  static std::uint64_t bytes_received(const Server& server);
  // Folders and files the repo sources stat'ed to list or check their listings,
  // summed over all repos: a file's request must add a few, whatever the repo's size.
  static std::uint64_t paths_examined(const Server& server);
};

}  // namespace hubload::serve_internal
