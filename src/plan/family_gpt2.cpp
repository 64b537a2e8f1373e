// GPT-2 (tensor-parallel.md §7.4, §10.4): Conv1D weights are stored [in, out],
// so column splits are on dim 1 and row splits on dim 0. Names may carry a
// "transformer." prefix or not.
#include "plan/rules.h"

namespace hubload::plan_internal {

FamilyRules gpt2_family_rules(const ModelConfig& config) {
  return build_family(config, {
      .rules = {
          {R"((^|\.)wte\.weight$)", Strategy::vocab},
          {R"((^|\.)wpe\.weight$)", Strategy::replicate},
          // Causal-mask buffers saved by old writers; c_attn.bias is a real weight.
          {R"(\.attn\.(bias|masked_bias)$)", Strategy::skip},
          {R"(\.attn\.c_attn\.(weight|bias)$)", Strategy::qkv_blocks, 1},
          {R"(\.(attn|mlp)\.c_proj\.(weight|bias)$)", Strategy::row, 0},
          {R"(\.mlp\.c_fc\.(weight|bias)$)", Strategy::column, 1},
          {R"((^|\.)ln_(1|2|f)\.(weight|bias)$)", Strategy::replicate},
      },
      .lm_head = R"(^lm_head\.weight$)",
      .required = {R"((^|\.)wte\.weight$)"},
      .required_per_layer = {R"((^|\.)h\.{i}\.attn\.c_attn\.weight$)",
                             R"((^|\.)h\.{i}\.attn\.c_proj\.weight$)",
                             R"((^|\.)h\.{i}\.mlp\.c_fc\.weight$)"},
  });
}

}  // namespace hubload::plan_internal
