// OPT (tensor-parallel.md §10.8): separate q/k/v with biases, fc1/fc2, learned
// positions; names with or without the "model." prefix.
#include "plan/rules.h"

namespace hubload::plan_internal {

FamilyRules opt_family_rules(const ModelConfig& config) {
  FamilyRules f;
  auto& r = f.rules;
  r.push_back(builtin(R"((^|\.)decoder\.embed_tokens\.weight$)", Strategy::vocab));
  r.push_back(builtin(R"((^|\.)decoder\.embed_positions\.weight$)", Strategy::replicate));
  r.push_back(builtin(R"((^|\.)decoder\.project_(in|out)\.weight$)", Strategy::replicate));
  r.push_back(builtin(R"(\.self_attn\.q_proj\.(weight|bias)$)", Strategy::q_heads));
  r.push_back(builtin(R"(\.self_attn\.[kv]_proj\.(weight|bias)$)", Strategy::kv_heads));
  r.push_back(builtin(R"(\.self_attn\.out_proj\.(weight|bias)$)", Strategy::row));
  r.push_back(builtin(R"(\.fc1\.(weight|bias)$)", Strategy::column));
  r.push_back(builtin(R"(\.fc2\.(weight|bias)$)", Strategy::row));
  r.push_back(builtin(R"(layer_norm\.(weight|bias)$)", Strategy::replicate));
  add_lm_head_rule(f, config, R"(^lm_head\.weight$)");

  f.required.insert(f.required.end(), {R"((^|\.)decoder\.embed_tokens\.weight$)"});
  f.required_per_layer = {R"((^|\.)decoder\.layers\.{i}\.self_attn\.q_proj\.weight$)",
                          R"((^|\.)decoder\.layers\.{i}\.fc1\.weight$)"};
  return f;
}

}  // namespace hubload::plan_internal
