#include <nlohmann/json.hpp>

#include "hubload/config.h"

namespace hubload {

std::optional<std::string> ModelConfig::raw(std::string_view json_pointer) const {
  nlohmann::json doc = nlohmann::json::parse(raw_json, nullptr, false);
  if (doc.is_discarded()) return std::nullopt;
  // json_pointer's constructor throws on a malformed pointer; the library does not.
  try {
    nlohmann::json::json_pointer ptr{std::string(json_pointer)};
    if (!doc.contains(ptr)) return std::nullopt;
    return doc.at(ptr).dump();
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

}  // namespace hubload
