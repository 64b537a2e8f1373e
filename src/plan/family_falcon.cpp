// Falcon (tensor-parallel.md §7.3, §10.6): query_key_value grouped by KV head,
// which covers multi-query (Hkv = 1), new_decoder_architecture and plain MHA.
#include "plan/rules.h"

namespace hubload::plan_internal {

FamilyRules falcon_family_rules(const ModelConfig& config) {
  FamilyRules f;
  auto& r = f.rules;
  r.push_back(builtin(R"((^|\.)word_embeddings\.weight$)", Strategy::vocab));
  r.push_back(builtin(R"(\.self_attention\.query_key_value\.(weight|bias)$)", Strategy::qkv_grouped));
  r.push_back(builtin(R"(\.self_attention\.dense\.(weight|bias)$)", Strategy::row));
  r.push_back(builtin(R"(\.mlp\.dense_h_to_4h\.(weight|bias)$)", Strategy::column));
  r.push_back(builtin(R"(\.mlp\.dense_4h_to_h\.(weight|bias)$)", Strategy::row));
  r.push_back(builtin(R"((layernorm|ln_attn|ln_mlp|ln_f)\.(weight|bias)$)", Strategy::replicate));
  add_lm_head_rule(f, config, R"(^lm_head\.weight$)");

  f.required.insert(f.required.end(), {R"((^|\.)word_embeddings\.weight$)"});
  f.required_per_layer = {R"((^|\.)h\.{i}\.self_attention\.query_key_value\.weight$)"};
  return f;
}

}  // namespace hubload::plan_internal
