#include "serve/paths_info_request.h"

#include <nlohmann/json.hpp>

#include "serve/server_impl.h"

namespace hubload::serve_internal {

std::optional<PathsInfoRequest> parse_paths_info_request(const httplib::Request& req) {
  PathsInfoRequest out;
  if (req.get_header_value("Content-Type").starts_with("application/json")) {
    nlohmann::json body = nlohmann::json::parse(req.body, nullptr, false);
    if (!body.is_object() || !body.contains("paths") || !body["paths"].is_array()) return std::nullopt;
    for (const nlohmann::json& p : body["paths"]) {
      if (p.is_string()) out.paths.push_back(p.get<std::string>());
    }
    // A non-boolean "expand" is a malformed body (value() would throw on it,
    // and the server answered 500 to a client's mistake).
    const auto expand = body.find("expand");
    if (expand != body.end() && !expand->is_boolean()) return std::nullopt;
    out.expand = expand != body.end() && expand->get<bool>();
  } else {
    for (std::size_t i = 0; i < req.get_param_value_count("paths"); ++i) out.paths.push_back(req.get_param_value("paths", i));
    out.expand = truthy(req, "expand");
  }
  return out;
}

}  // namespace hubload::serve_internal
