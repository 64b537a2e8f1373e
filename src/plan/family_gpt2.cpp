// GPT-2 (tensor-parallel.md §7.4, §10.4): Conv1D weights are stored [in, out],
// so column splits are on dim 1 and row splits on dim 0. Names may carry a
// "transformer." prefix or not.
#include "plan/rules.h"

namespace hubload::plan_internal {

FamilyRules gpt2_family_rules(const ModelConfig& config) {
  FamilyRules f;
  auto& r = f.rules;
  r.push_back(builtin(R"((^|\.)wte\.weight$)", Strategy::vocab));
  r.push_back(builtin(R"((^|\.)wpe\.weight$)", Strategy::replicate));
  // Causal-mask buffers saved by old writers; c_attn.bias is a real weight.
  r.push_back(builtin(R"(\.attn\.(bias|masked_bias)$)", Strategy::skip));
  r.push_back(builtin(R"(\.attn\.c_attn\.(weight|bias)$)", Strategy::qkv_blocks, 1));
  r.push_back(builtin(R"(\.(attn|mlp)\.c_proj\.(weight|bias)$)", Strategy::row, 0));
  r.push_back(builtin(R"(\.mlp\.c_fc\.(weight|bias)$)", Strategy::column, 1));
  r.push_back(builtin(R"((^|\.)ln_(1|2|f)\.(weight|bias)$)", Strategy::replicate));
  add_lm_head_rule(f, config, R"(^lm_head\.weight$)");

  f.required.insert(f.required.end(), {R"((^|\.)wte\.weight$)"});
  f.required_per_layer = {R"((^|\.)h\.{i}\.attn\.c_attn\.weight$)", R"((^|\.)h\.{i}\.attn\.c_proj\.weight$)",
                          R"((^|\.)h\.{i}\.mlp\.c_fc\.weight$)"};
  return f;
}

}  // namespace hubload::plan_internal
