#include <cassert>

#include "plan/rules.h"

namespace hubload::plan_internal {

Result<Rule> make_rule(std::string pattern, Strategy strategy, int dim, std::string_view source) {
  Rule rule;
  try {
    rule.re = std::regex(pattern, std::regex::ECMAScript | std::regex::optimize);
  } catch (const std::regex_error& e) {
    return invalid_input(std::string(source) + ": pattern '" + pattern + "' is not a valid regular expression: " +
                         e.what());
  }
  rule.pattern = std::move(pattern);
  rule.strategy = strategy;
  rule.dim = dim;
  return rule;
}

Rule builtin(std::string pattern, Strategy strategy, int dim) {
  Result<Rule> rule = make_rule(std::move(pattern), strategy, dim, "built-in rules");
  assert(rule.has_value());
  return std::move(rule).value();
}

void add_lm_head_rule(FamilyRules& rules, const ModelConfig& config, const std::string& pattern) {
  if (config.tie_word_embeddings) {
    // The embedding's slice serves as the head (§5); a duplicate head is not read.
    rules.rules.push_back(builtin(pattern, Strategy::skip));
  } else {
    rules.rules.push_back(builtin(pattern, Strategy::vocab));
    rules.required.push_back(pattern);
  }
}

FamilyRules build_family(const ModelConfig& config, const FamilySpec& spec) {
  FamilyRules f;
  for (const RuleSpec& rule : spec.rules) f.rules.push_back(builtin(rule.pattern, rule.strategy, rule.dim));
  add_lm_head_rule(f, config, spec.lm_head);
  f.required.insert(f.required.end(), spec.required.begin(), spec.required.end());
  f.required_per_layer = spec.required_per_layer;
  return f;
}

FamilyRules family_rules(const ModelConfig& config) {
  // The family, not model_type: custom types (kimi_k2) plan by their architecture's family.
  const std::string& t = config.family.empty() ? config.model_type : config.family;
  if (t == "llama" || t == "mistral" || t == "mixtral" || t == "qwen2" || t == "qwen2_moe" || t == "qwen3" ||
      t == "qwen3_moe" || t == "gemma" || t == "gemma2" || t == "phi3")
    return llama_family_rules(config);
  if (t == "gpt2") return gpt2_family_rules(config);
  if (t == "gpt_neox") return neox_family_rules(config);
  if (t == "bloom") return bloom_family_rules(config);
  if (t == "falcon" || t == "RefinedWeb" || t == "RefinedWebModel") return falcon_family_rules(config);
  if (t == "opt") return opt_family_rules(config);
  if (t == "deepseek_v2" || t == "deepseek_v3") return deepseek_family_rules(config);
  return {};
}

}  // namespace hubload::plan_internal
