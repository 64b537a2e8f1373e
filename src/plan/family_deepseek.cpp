// DeepSeek-V2/V3/R1 and Kimi-K2 (tensor-parallel-frontier.md §1): multi-head
// latent attention split by query heads, the latent projections replicated,
// routed and shared experts, and the MTP layer numbered after the main layers.
#include "plan/rules.h"

namespace hubload::plan_internal {

FamilyRules deepseek_family_rules(const ModelConfig& config) {
  return build_family(config, {
      .rules = {
          {R"(rotary_emb\.inv_freq$)", Strategy::skip},
          // The embedding, also the MTP layer's own copy (vLLM loads it from the first MTP layer).
          {R"(^model\.(layers\.\d+\.)?embed_tokens\.weight$)", Strategy::vocab},
          {R"(\.shared_head\.head\.weight$)", Strategy::vocab},
          // MTP glue: plain nn.Linear / norms, replicated.
          {R"(\.(enorm|hnorm|eh_proj)\.weight$)", Strategy::replicate},
          // Latent projections are one replicated (fused) linear; their norms replicated.
          {R"(\.self_attn\.(q_a_proj|kv_a_proj_with_mqa)\.weight$)", Strategy::replicate},
          // Head-major: q_b_proj rows are heads of nope + rope, kv_b_proj rows heads of nope + v.
          {R"(\.self_attn\.(q_b_proj|q_proj|kv_b_proj)\.weight$)", Strategy::q_heads},
          {R"(\.self_attn\.o_proj\.weight$)", Strategy::row},
          // Router and its noaux_tc correction bias: replicated, never quantized.
          {R"(\.mlp\.gate\.(weight|e_score_correction_bias)$)", Strategy::replicate},
          // Dense MLP, shared experts, routed experts: gate/up column, down row.
          {R"(\.(gate_proj|up_proj)\.weight$)", Strategy::column},
          {R"(\.down_proj\.weight$)", Strategy::row},
          {R"((norm|layernorm)\.weight$)", Strategy::replicate},
      },
      .lm_head = R"(^lm_head\.weight$)",
      .required = {R"(^model\.embed_tokens\.weight$)", R"(^model\.norm\.weight$)"},
      .required_per_layer = {R"(^model\.layers\.{i}\.self_attn\.(q_b_proj|q_proj)\.weight$)",
                             R"(^model\.layers\.{i}\.self_attn\.kv_b_proj\.weight$)",
                             R"(^model\.layers\.{i}\.self_attn\.o_proj\.weight$)"},
  });
}

}  // namespace hubload::plan_internal
