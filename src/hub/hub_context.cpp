#include "hub/hub_context.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "util/json_limits.h"
#include "util/percent_encoding.h"
#include "util/terminal_text.h"

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
                 std::make_shared<ConnectionBudget>(options.transfer.connections, options.transfer.max_connections)};
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
  const TransferOptions& transfer = ctx.options->transfer;
  request.connect_timeout = transfer.connect_timeout;
  request.stall_timeout = transfer.stall_timeout;
  request.min_rate = transfer.min_rate;
  request.total_timeout = request.method == "HEAD" ? transfer.metadata_timeout : transfer.request_deadline;
  return request;
}

Result<nlohmann::json> parse_server_json(std::string_view text, std::string_view what, std::string_view url) {
  // Depth and size first: a DOM parse of a hostile document costs far more
  // memory than its text.
  const std::string where = fmt::format("{}: {}", what, util_internal::terminal_safe(url));
  HUBLOAD_TRY(util_internal::check_json_limits(text, where));
  auto doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_discarded()) return invalid_input(fmt::format("{} answered with invalid JSON", where));
  return doc;
}

}  // namespace hubload::hub_internal
