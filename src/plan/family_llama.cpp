// Llama-style names (tensor-parallel.md §10.1-§10.3): Llama, Mistral, Qwen2/3,
// Gemma(-2), their MoE variants (Mixtral, Qwen2-MoE, Qwen3-MoE) and Phi-3's fused
// projections.
#include "plan/rules.h"

namespace hubload::plan_internal {

FamilyRules llama_family_rules(const ModelConfig& config) {
  FamilyRules f;
  auto& r = f.rules;
  r.push_back(builtin(R"(rotary_emb\.inv_freq$)", Strategy::skip));
  r.push_back(builtin(R"(^model\.embed_tokens\.weight$)", Strategy::vocab));
  r.push_back(builtin(R"(\.self_attn\.q_proj\.(weight|bias)$)", Strategy::q_heads));
  r.push_back(builtin(R"(\.self_attn\.[kv]_proj\.(weight|bias)$)", Strategy::kv_heads));
  r.push_back(builtin(R"(\.self_attn\.qkv_proj\.(weight|bias)$)", Strategy::qkv_blocks));
  r.push_back(builtin(R"(\.self_attn\.o_proj\.(weight|bias)$)", Strategy::row));
  r.push_back(builtin(R"(\.mlp\.gate_up_proj\.(weight|bias)$)", Strategy::gate_up_blocks));
  // Routers are replicated (§9.1); the MoE gate is "gate.weight", not "gate_proj".
  r.push_back(builtin(R"(\.(block_sparse_moe|mlp)\.gate\.weight$)", Strategy::replicate));
  r.push_back(builtin(R"(\.mlp\.shared_expert_gate\.weight$)", Strategy::replicate));
  // Dense MLP, shared experts and every routed expert: gate/up column, down row.
  r.push_back(builtin(R"(\.(gate_proj|up_proj)\.(weight|bias)$)", Strategy::column));
  r.push_back(builtin(R"(\.down_proj\.(weight|bias)$)", Strategy::row));
  r.push_back(builtin(R"(\.experts\.\d+\.w[13]\.weight$)", Strategy::column));
  r.push_back(builtin(R"(\.experts\.\d+\.w2\.weight$)", Strategy::row));
  r.push_back(builtin(R"(norm\.(weight|bias)$)", Strategy::replicate));
  add_lm_head_rule(f, config, R"(^lm_head\.weight$)");

  f.required.insert(f.required.end(), {R"(^model\.embed_tokens\.weight$)", R"(^model\.norm\.weight$)"});
  f.required_per_layer = {R"(^model\.layers\.{i}\.self_attn\.(q_proj|qkv_proj)\.weight$)",
                          R"(^model\.layers\.{i}\.self_attn\.o_proj\.weight$)",
                          R"(^model\.layers\.{i}\.input_layernorm\.weight$)"};
  return f;
}

}  // namespace hubload::plan_internal
