// What every Hub request of one call needs, resolved once from HubOptions:
// endpoint, token, transport, cache. Private to src/hub.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "hubload/cache.h"
#include "hubload/hub.h"
#include "hubload/transfer.h"
#include "hubload/transport.h"
#include "hubload/version.h"

namespace hubload::hub_internal {

inline constexpr int kMaxRelativeRedirects = 10;

struct HubContext {
  std::string endpoint;  // no trailing '/'
  std::optional<std::string> token;
  std::shared_ptr<Transport> transport;
  RepoCache cache;
  bool offline = false;  // local_files_only or HF_HUB_OFFLINE
  const HubOptions* options = nullptr;
  // One budget for every blob fetched under this context (one download_model
  // call), however many files run at once: it starts at
  // options->transfer.connections and adapts up to max_connections.
  std::shared_ptr<ConnectionBudget> connection_budget;
};

// Validates the repo id and builds the context. Touches neither disk nor network
// except to read a token file when token discovery reaches it.
Result<HubContext> make_context(std::string_view repo_id, const HubOptions& options);


// {endpoint}/{prefix}{repo}/resolve/{rev}/{path}
std::string resolve_url(const HubContext& ctx, std::string_view revision, std::string_view path);
// {endpoint}/api/{type}s/{repo}[/suffix]
std::string api_url(const HubContext& ctx, std::string_view suffix);

// Headers for a request to `url`: user agent, identity encoding, and the token
// only when `url` is on the endpoint's own host.
HttpHeaders request_headers(const HubContext& ctx, std::string_view url);

// A metadata request with the call's limits: connect timeout, minimum rate over
// the stall window, and a total deadline (metadata_timeout for a HEAD,
// request_deadline otherwise).
HttpRequest make_request(const HubContext& ctx, std::string method, std::string url);

// A JSON answer of a server (or a file it sent), parsed only once
// util_internal::check_json_limits has passed it; invalid_input naming `what`
// and `url` otherwise.
Result<nlohmann::json> parse_server_json(std::string_view text, std::string_view what, std::string_view url);

// An HTTP error answer → the Error kind the Hub's X-Error-Code (or status) means.
Error hub_error(const HttpResponse& response, std::string_view url, std::string_view what);

}  // namespace hubload::hub_internal
