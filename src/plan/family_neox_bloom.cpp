// GPT-NeoX and BLOOM (tensor-parallel.md §7.2, §10.5, §10.7): a head-interleaved
// fused query_key_value, classic MLP, biases everywhere.
#include "plan/rules.h"

namespace hubload::plan_internal {

FamilyRules neox_family_rules(const ModelConfig& config) {
  FamilyRules f;
  auto& r = f.rules;
  r.push_back(builtin(R"(\.attention\.(bias|masked_bias|rotary_emb\.inv_freq)$)", Strategy::skip));
  r.push_back(builtin(R"((^|\.)embed_in\.weight$)", Strategy::vocab));
  r.push_back(builtin(R"(\.attention\.query_key_value\.(weight|bias)$)", Strategy::qkv_interleaved));
  r.push_back(builtin(R"(\.attention\.dense\.(weight|bias)$)", Strategy::row));
  r.push_back(builtin(R"(\.mlp\.dense_h_to_4h\.(weight|bias)$)", Strategy::column));
  r.push_back(builtin(R"(\.mlp\.dense_4h_to_h\.(weight|bias)$)", Strategy::row));
  r.push_back(builtin(R"(layer_?norm\.(weight|bias)$)", Strategy::replicate));
  add_lm_head_rule(f, config, R"(^embed_out\.weight$)");

  f.required.insert(f.required.end(), {R"((^|\.)embed_in\.weight$)"});
  f.required_per_layer = {R"((^|\.)layers\.{i}\.attention\.query_key_value\.weight$)",
                          R"((^|\.)layers\.{i}\.attention\.dense\.weight$)"};
  return f;
}

FamilyRules bloom_family_rules(const ModelConfig& config) {
  FamilyRules f;
  auto& r = f.rules;
  r.push_back(builtin(R"((^|\.)word_embeddings\.weight$)", Strategy::vocab));
  r.push_back(builtin(R"(\.self_attention\.query_key_value\.(weight|bias)$)", Strategy::qkv_interleaved));
  r.push_back(builtin(R"(\.self_attention\.dense\.(weight|bias)$)", Strategy::row));
  r.push_back(builtin(R"(\.mlp\.dense_h_to_4h\.(weight|bias)$)", Strategy::column));
  r.push_back(builtin(R"(\.mlp\.dense_4h_to_h\.(weight|bias)$)", Strategy::row));
  r.push_back(builtin(R"((layernorm|ln_f)\.(weight|bias)$)", Strategy::replicate));
  add_lm_head_rule(f, config, R"(^lm_head\.weight$)");

  f.required = {R"((^|\.)word_embeddings\.weight$)"};
  f.required_per_layer = {R"((^|\.)h\.{i}\.self_attention\.query_key_value\.weight$)"};
  return f;
}

}  // namespace hubload::plan_internal
