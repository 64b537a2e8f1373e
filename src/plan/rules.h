// Private: name rules that map checkpoint tensor names to strategies, the
// built-in rule sets per architecture family, and rules-file parsing.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "hubload/config.h"
#include "hubload/error.h"
#include "hubload/plan.h"
#include "plan/name_pattern.h"

namespace hubload::plan_internal {

struct Rule {
  std::string pattern;  // searched in the tensor name
  NamePattern re;
  Strategy strategy = Strategy::replicate;
  int dim = -1;  // split dim for 2-D+ tensors; -1: 0 for column-type, 1 for row
};

struct FamilyRules {
  std::vector<Rule> rules;  // first match wins
  // Regexes that must each match some tensor name; "{i}" is replaced by every
  // layer index 0..num_hidden_layers-1.
  std::vector<std::string> required;
  std::vector<std::string> required_per_layer;
};

// Builds a rule; invalid_input naming `source` when the pattern is not a regex.
Result<Rule> make_rule(std::string pattern, Strategy strategy, int dim, std::string_view source);
// A family's table (src/plan/families/<family>.json): the rules-file format plus
// who it is for and what a checkpoint of the family must contain.
struct FamilyTable {
  std::string family;
  std::vector<std::string> model_types;  // config model_type (or architecture family) values
  std::vector<Rule> rules;               // in match order; the lm_head rule follows them
  std::string lm_head;
  std::vector<std::string> required;
  std::vector<std::string> required_per_layer;
};
Result<FamilyTable> parse_family_table(std::string_view json_text, std::string_view source);

// Whether a family table's "model_types" lists `model_type`, without building its rules.
bool family_table_covers(std::string_view json_text, std::string_view model_type);

// The family's built-in rules (tie_word_embeddings decides lm_head), or an empty
// set for a model_type no table covers.
FamilyRules family_rules(const ModelConfig& config);

// The lm_head rule shared by the families: vocab-parallel when untied, skipped
// ("tied") when tied. Adds the untied head to `required`.
void add_lm_head_rule(FamilyRules& rules, const ModelConfig& config, const std::string& pattern);

// Rules file: {"rules": [{"pattern": "...", "strategy": "column", "dim": 0, "why": "..."}, ...]}.
Result<std::vector<Rule>> parse_rules_file(std::string_view json_text, std::string_view source);

}  // namespace hubload::plan_internal
