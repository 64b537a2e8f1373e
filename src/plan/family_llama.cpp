// Llama-style names (tensor-parallel.md §10.1-§10.3): Llama, Mistral, Qwen2/3,
// Gemma(-2), their MoE variants (Mixtral, Qwen2-MoE, Qwen3-MoE) and Phi-3's fused
// projections.
#include "plan/rules.h"

namespace hubload::plan_internal {

FamilyRules llama_family_rules(const ModelConfig& config) {
  return build_family(config, {
      .rules = {
          {R"(rotary_emb\.inv_freq$)", Strategy::skip},
          {R"(^model\.embed_tokens\.weight$)", Strategy::vocab},
          {R"(\.self_attn\.q_proj\.(weight|bias)$)", Strategy::q_heads},
          {R"(\.self_attn\.[kv]_proj\.(weight|bias)$)", Strategy::kv_heads},
          {R"(\.self_attn\.qkv_proj\.(weight|bias)$)", Strategy::qkv_blocks},
          {R"(\.self_attn\.o_proj\.(weight|bias)$)", Strategy::row},
          {R"(\.mlp\.gate_up_proj\.(weight|bias)$)", Strategy::gate_up_blocks},
          // Routers are replicated (§9.1); the MoE gate is "gate.weight", not "gate_proj".
          {R"(\.(block_sparse_moe|mlp)\.gate\.weight$)", Strategy::replicate},
          {R"(\.mlp\.shared_expert_gate\.weight$)", Strategy::replicate},
          // Dense MLP, shared experts and every routed expert: gate/up column, down row.
          {R"(\.(gate_proj|up_proj)\.(weight|bias)$)", Strategy::column},
          {R"(\.down_proj\.(weight|bias)$)", Strategy::row},
          {R"(\.experts\.\d+\.w[13]\.weight$)", Strategy::column},
          {R"(\.experts\.\d+\.w2\.weight$)", Strategy::row},
          {R"(norm\.(weight|bias)$)", Strategy::replicate},
      },
      .lm_head = R"(^lm_head\.weight$)",
      .required = {R"(^model\.embed_tokens\.weight$)", R"(^model\.norm\.weight$)"},
      .required_per_layer = {R"(^model\.layers\.{i}\.self_attn\.(q_proj|qkv_proj)\.weight$)",
                             R"(^model\.layers\.{i}\.self_attn\.o_proj\.weight$)",
                             R"(^model\.layers\.{i}\.input_layernorm\.weight$)"},
  });
}

}  // namespace hubload::plan_internal
