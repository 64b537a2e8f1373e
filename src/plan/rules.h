// Private: name rules that map checkpoint tensor names to strategies, the
// built-in rule sets per architecture family, and rules-file parsing.
#pragma once

#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "hubload/config.h"
#include "hubload/error.h"
#include "hubload/plan.h"

namespace hubload::plan_internal {

struct Rule {
  std::string pattern;  // ECMAScript regex, searched in the tensor name
  std::regex re;
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
// Built-in rules never fail to compile; this asserts that for family tables.
Rule builtin(std::string pattern, Strategy strategy, int dim = -1);

// A family's built-in table: its rules in match order, the lm_head pattern whose
// rule follows them (see add_lm_head_rule), and the names that must be present.
struct RuleSpec {
  std::string pattern;
  Strategy strategy;
  int dim = -1;
};
struct FamilySpec {
  std::vector<RuleSpec> rules;
  std::string lm_head;
  std::vector<std::string> required;
  std::vector<std::string> required_per_layer;
};
FamilyRules build_family(const ModelConfig& config, const FamilySpec& spec);

// The family's built-in rules (tie_word_embeddings decides lm_head), or an empty
// set for a model_type hubload has no table for.
FamilyRules family_rules(const ModelConfig& config);

FamilyRules llama_family_rules(const ModelConfig& config);  // Llama, Mistral, Mixtral, Qwen2/3(-MoE), Gemma(-2), Phi-3
FamilyRules gpt2_family_rules(const ModelConfig& config);
FamilyRules neox_family_rules(const ModelConfig& config);   // GPT-NeoX
FamilyRules bloom_family_rules(const ModelConfig& config);
FamilyRules falcon_family_rules(const ModelConfig& config);
FamilyRules opt_family_rules(const ModelConfig& config);
FamilyRules deepseek_family_rules(const ModelConfig& config);  // DeepSeek-V2/V3/R1, Kimi-K2 (MLA, MoE, MTP)

// The lm_head rule shared by the families: vocab-parallel when untied, skipped
// ("tied") when tied. Adds the untied head to `required`.
void add_lm_head_rule(FamilyRules& rules, const ModelConfig& config, const std::string& pattern);

// Rules file: {"rules": [{"pattern": "...", "strategy": "column", "dim": 0}, ...]}.
Result<std::vector<Rule>> parse_rules_file(std::string_view json_text, std::string_view source);

}  // namespace hubload::plan_internal
