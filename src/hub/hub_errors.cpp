// X-Error-Code and HTTP status → ErrorKind, in the order the Python client
// checks them (hub-protocol.md §6.1).
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "hub/hub_context.h"
#include "util/json_limits.h"
#include "util/terminal_text.h"

namespace hubload::hub_internal {
namespace {

// X-Error-Message, else a JSON {"error": ...}, else a short plain-text body:
// always a short excerpt, escaped for a terminal (the server wrote it).
std::string server_message(const HttpResponse& response) {
  if (auto message = response.headers.get("X-Error-Message")) return util_internal::terminal_excerpt(*message);
  if (util_internal::check_json_limits(response.body, "error body")) {
    auto doc = nlohmann::json::parse(response.body, nullptr, false);
    if (doc.is_object() && doc.contains("error")) {
      const auto& error = doc["error"];
      return util_internal::terminal_excerpt(error.is_string() ? error.get<std::string>() : error.dump());
    }
  }
  if (!response.body.empty() && response.body.size() < 300 && response.body.find('<') == std::string::npos) {
    return util_internal::terminal_excerpt(response.body);
  }
  return {};
}

}  // namespace

Error hub_error(const HttpResponse& response, std::string_view url, std::string_view what) {
  const std::string code = response.headers.get("X-Error-Code").value_or("");
  std::string message = server_message(response);
  const std::string detail = fmt::format("{} ({} -> HTTP {}{}{})", what, util_internal::terminal_safe(url), response.status,
                                         message.empty() ? "" : ": ", message);
  if (code == "RevisionNotFound") return {ErrorKind::not_found, "revision not found: " + detail};
  if (code == "EntryNotFound") return {ErrorKind::not_found, "file not found in repo: " + detail};
  if (code == "GatedRepo") {
    return {ErrorKind::gated, "gated repo: request access on the Hub and use a token that has it: " + detail};
  }
  if (code == "RepoNotFound") {
    return {ErrorKind::not_found, "repo not found (or private: a token may be needed): " + detail};
  }
  switch (response.status) {
    case 400: return invalid_input("bad request: " + detail);
    case 401: return {ErrorKind::unauthorized, "unauthorized (missing or invalid token): " + detail};
    case 403: return {ErrorKind::unauthorized, "forbidden (check the token's permissions): " + detail};
    case 404: return not_found("not found: " + detail);
    case 416: return invalid_input("range not satisfiable: " + detail);
    case 429: {
      std::string wait = util_internal::terminal_excerpt(
          response.headers.get("Retry-After").value_or(response.headers.get("RateLimit").value_or("")), 80);
      return {ErrorKind::rate_limited,
              "rate limited by the server" + (wait.empty() ? std::string() : " (retry after " + wait + ")") + ": " + detail};
    }
    default: break;
  }
  if (response.status >= 500) return network_error("server error: " + detail);
  return network_error("unexpected answer: " + detail);
}

}  // namespace hubload::hub_internal
