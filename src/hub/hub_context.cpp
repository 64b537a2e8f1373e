#include "hub/hub_context.h"

#include <fmt/format.h>

#include "util/percent_encoding.h"

namespace hubload::hub_internal {

Result<HubContext> make_context(std::string_view repo_id, const HubOptions& options) {
  HUBLOAD_TRY(validate_repo_id(repo_id));
  HUBLOAD_ASSIGN_OR_RETURN(std::optional<std::string> token, discover_token(options));
  std::string endpoint = options.endpoint ? *options.endpoint : hub_endpoint(options.environment);
  while (endpoint.ends_with('/')) endpoint.pop_back();
  std::filesystem::path root = options.cache_dir ? *options.cache_dir : hub_cache_root(options.environment);
  HubContext ctx{std::move(endpoint), std::move(token),
                 options.transport ? options.transport : make_curl_transport(),
                 RepoCache(std::move(root), std::string(repo_id), options.repo_type),
                 options.local_files_only || hub_offline(options.environment), &options,
                 std::make_shared<ConnectionBudget>(options.transfer.connections)};
  return ctx;
}

namespace {
std::string_view url_prefix(RepoType type) {
  switch (type) {
    case RepoType::dataset: return "datasets/";
    case RepoType::space: return "spaces/";
    case RepoType::model: break;
  }
  return "";
}
}  // namespace

std::string resolve_url(const HubContext& ctx, std::string_view revision, std::string_view path) {
  return fmt::format("{}/{}{}/resolve/{}/{}", ctx.endpoint, url_prefix(ctx.cache.type()), ctx.cache.repo_id(),
                     util_internal::percent_encode(revision, false), util_internal::percent_encode(path, true));
}

std::string api_url(const HubContext& ctx, std::string_view suffix) {
  return fmt::format("{}/api/{}s/{}{}", ctx.endpoint, to_string(ctx.cache.type()), ctx.cache.repo_id(), suffix);
}

HttpHeaders request_headers(const HubContext& ctx, std::string_view url) {
  HttpHeaders headers;
  headers.set("User-Agent", std::string(kUserAgent));
  headers.set("Accept-Encoding", "identity");
  // The token is for the Hub alone: never for a CDN or any other host.
  if (ctx.token && url_origin(url) == url_origin(ctx.endpoint)) {
    headers.set("Authorization", "Bearer " + *ctx.token);
  }
  return headers;
}

HttpRequest make_request(const HubContext& ctx, std::string method, std::string url) {
  HttpRequest request;
  request.method = std::move(method);
  request.headers = request_headers(ctx, url);
  request.url = std::move(url);
  request.connect_timeout = ctx.options->transfer.connect_timeout;
  request.stall_timeout = ctx.options->transfer.stall_timeout;
  return request;
}

}  // namespace hubload::hub_internal
