// Rules files and the built-in family tables, which share one format:
// {"rules": [{"pattern": "<regex>", "strategy": "column", "dim": 1, "why": "..."}, ...]}.
// A family table adds "family", "model_types", "lm_head", "required" and
// "required_per_layer" (src/plan/families/README.md).
#include <nlohmann/json.hpp>

#include "plan/rules.h"

namespace hubload::plan_internal {
namespace {

Result<nlohmann::json> parse_object(std::string_view json_text, const std::string& src) {
  nlohmann::json doc = nlohmann::json::parse(json_text, nullptr, false);
  if (doc.is_discarded()) return invalid_input(src + ": not valid JSON");
  if (!doc.is_object() || !doc.contains("rules") || !doc["rules"].is_array())
    return invalid_input(src + ": expected an object with a \"rules\" array");
  return doc;
}

Result<std::vector<Rule>> parse_rules(const nlohmann::json& array, const std::string& src) {
  std::vector<Rule> rules;
  std::size_t index = 0;
  for (const nlohmann::json& item : array) {
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

Result<std::vector<std::string>> string_list(const nlohmann::json& doc, const char* key, const std::string& src) {
  std::vector<std::string> out;
  if (!doc.contains(key)) return out;
  if (!doc[key].is_array()) return invalid_input(src + ": \"" + key + "\" must be an array of strings");
  for (const nlohmann::json& item : doc[key]) {
    if (!item.is_string()) return invalid_input(src + ": \"" + key + "\" must be an array of strings");
    out.push_back(item.get<std::string>());
  }
  return out;
}

}  // namespace

Result<std::vector<Rule>> parse_rules_file(std::string_view json_text, std::string_view source) {
  const std::string src(source.empty() ? "rules file" : source);
  HUBLOAD_ASSIGN_OR_RETURN(nlohmann::json doc, parse_object(json_text, src));
  return parse_rules(doc["rules"], src);
}

Result<FamilyTable> parse_family_table(std::string_view json_text, std::string_view source) {
  const std::string src(source);
  HUBLOAD_ASSIGN_OR_RETURN(nlohmann::json doc, parse_object(json_text, src));
  FamilyTable table;
  if (!doc.contains("family") || !doc["family"].is_string() || !doc.contains("lm_head") ||
      !doc["lm_head"].is_string())
    return invalid_input(src + ": a family table needs string fields \"family\" and \"lm_head\"");
  table.family = doc["family"].get<std::string>();
  table.lm_head = doc["lm_head"].get<std::string>();
  HUBLOAD_ASSIGN_OR_RETURN(table.model_types, string_list(doc, "model_types", src));
  if (table.model_types.empty()) return invalid_input(src + ": \"model_types\" must name at least one model_type");
  HUBLOAD_ASSIGN_OR_RETURN(table.rules, parse_rules(doc["rules"], src));
  HUBLOAD_TRY(make_rule(table.lm_head, Strategy::vocab, -1, src + ": lm_head"));
  HUBLOAD_ASSIGN_OR_RETURN(table.required, string_list(doc, "required", src));
  HUBLOAD_ASSIGN_OR_RETURN(table.required_per_layer, string_list(doc, "required_per_layer", src));
  return table;
}

bool family_table_covers(std::string_view json_text, std::string_view model_type) {
  nlohmann::json doc = nlohmann::json::parse(json_text, nullptr, false);
  if (!doc.is_object() || !doc.contains("model_types") || !doc["model_types"].is_array()) return false;
  for (const nlohmann::json& item : doc["model_types"])
    if (item.is_string() && item.get_ref<const std::string&>() == model_type) return true;
  return false;
}

}  // namespace hubload::plan_internal
