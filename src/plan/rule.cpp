#include "plan/embedded.h"
#include "plan/rules.h"

namespace hubload::plan_internal {

Result<Rule> make_rule(std::string pattern, Strategy strategy, int dim, std::string_view source) {
  Rule rule;
  HUBLOAD_ASSIGN_OR_RETURN(rule.re, NamePattern::compile(pattern, source));
  rule.pattern = std::move(pattern);
  rule.strategy = strategy;
  rule.dim = dim;
  return rule;
}

void add_lm_head_rule(FamilyRules& rules, const ModelConfig& config, const std::string& pattern) {
  // The lm_head rule is built from a table that already compiled its patterns.
  if (config.tie_word_embeddings) {
    // The embedding's slice serves as the head (§5); a duplicate head is not read.
    rules.rules.push_back(make_rule(pattern, Strategy::skip, -1, "lm_head").value());
  } else {
    rules.rules.push_back(make_rule(pattern, Strategy::vocab, -1, "lm_head").value());
    rules.required.push_back(pattern);
  }
}

FamilyRules family_rules(const ModelConfig& config) {
  // The family, not model_type: custom types (kimi_k2) plan by their architecture's family.
  const std::string& type = config.family.empty() ? config.model_type : config.family;
  for (const EmbeddedFile& file : builtin_family_files()) {
    if (!family_table_covers(file.text, type)) continue;
    // The tables are part of the program and a test parses each: a failure here is
    // a build defect, and value() aborts naming the file and the fault.
    FamilyTable table = parse_family_table(file.text, file.path).value();
    FamilyRules f;
    f.rules = std::move(table.rules);
    add_lm_head_rule(f, config, table.lm_head);
    f.required.insert(f.required.end(), table.required.begin(), table.required.end());
    f.required_per_layer = std::move(table.required_per_layer);
    return f;
  }
  return {};
}

}  // namespace hubload::plan_internal
