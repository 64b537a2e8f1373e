// OPT (tensor-parallel.md §10.8): separate q/k/v with biases, fc1/fc2, learned
// positions; names with or without the "model." prefix.
#include "plan/rules.h"

namespace hubload::plan_internal {

FamilyRules opt_family_rules(const ModelConfig& config) {
  return build_family(config, {
      .rules = {
          {R"((^|\.)decoder\.embed_tokens\.weight$)", Strategy::vocab},
          {R"((^|\.)decoder\.embed_positions\.weight$)", Strategy::replicate},
          {R"((^|\.)decoder\.project_(in|out)\.weight$)", Strategy::replicate},
          {R"(\.self_attn\.q_proj\.(weight|bias)$)", Strategy::q_heads},
          {R"(\.self_attn\.[kv]_proj\.(weight|bias)$)", Strategy::kv_heads},
          {R"(\.self_attn\.out_proj\.(weight|bias)$)", Strategy::row},
          {R"(\.fc1\.(weight|bias)$)", Strategy::column},
          {R"(\.fc2\.(weight|bias)$)", Strategy::row},
          {R"(layer_norm\.(weight|bias)$)", Strategy::replicate},
      },
      .lm_head = R"(^lm_head\.weight$)",
      .required = {R"((^|\.)decoder\.embed_tokens\.weight$)"},
      .required_per_layer = {R"((^|\.)decoder\.layers\.{i}\.self_attn\.q_proj\.weight$)",
                             R"((^|\.)decoder\.layers\.{i}\.fc1\.weight$)"},
  });
}

}  // namespace hubload::plan_internal
