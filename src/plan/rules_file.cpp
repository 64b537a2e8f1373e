// Rules files: user rules for families hubload has no table for, or overrides.
// {"rules": [{"pattern": "<regex>", "strategy": "column", "dim": 1}, ...]}
#include <nlohmann/json.hpp>

#include "plan/rules.h"

namespace hubload::plan_internal {

Result<std::vector<Rule>> parse_rules_file(std::string_view json_text, std::string_view source) {
  const std::string src(source.empty() ? "rules file" : source);
  nlohmann::json doc = nlohmann::json::parse(json_text, nullptr, false);
  if (doc.is_discarded()) return invalid_input(src + ": not valid JSON");
  if (!doc.is_object() || !doc.contains("rules") || !doc["rules"].is_array())
    return invalid_input(src + ": expected an object with a \"rules\" array");
  std::vector<Rule> rules;
  std::size_t index = 0;
  for (const nlohmann::json& item : doc["rules"]) {
    const std::string where = src + ": rules[" + std::to_string(index++) + "]";
    if (!item.is_object() || !item.contains("pattern") || !item["pattern"].is_string() ||
        !item.contains("strategy") || !item["strategy"].is_string())
      return invalid_input(where + ": needs string fields \"pattern\" and \"strategy\"");
    std::string name = item["strategy"].get<std::string>();
    std::optional<Strategy> strategy = strategy_from_string(name);
    if (!strategy) return invalid_input(where + ": unknown strategy '" + name + "'");
    int dim = -1;
    if (item.contains("dim")) {
      if (!item["dim"].is_number_integer() || item["dim"].get<long long>() < 0 || item["dim"].get<long long>() > 8)
        return invalid_input(where + ": \"dim\" must be an integer in [0, 8]");
      dim = item["dim"].get<int>();
    }
    HUBLOAD_ASSIGN_OR_RETURN(Rule rule, make_rule(item["pattern"].get<std::string>(), *strategy, dim, where));
    rules.push_back(std::move(rule));
  }
  return rules;
}

}  // namespace hubload::plan_internal
