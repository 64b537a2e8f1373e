// Falcon (tensor-parallel.md §7.3, §10.6): query_key_value grouped by KV head,
// which covers multi-query (Hkv = 1), new_decoder_architecture and plain MHA.
#include "plan/rules.h"

namespace hubload::plan_internal {

FamilyRules falcon_family_rules(const ModelConfig& config) {
  return build_family(config, {
      .rules = {
          {R"((^|\.)word_embeddings\.weight$)", Strategy::vocab},
          {R"(\.self_attention\.query_key_value\.(weight|bias)$)", Strategy::qkv_grouped},
          {R"(\.self_attention\.dense\.(weight|bias)$)", Strategy::row},
          {R"(\.mlp\.dense_h_to_4h\.(weight|bias)$)", Strategy::column},
          {R"(\.mlp\.dense_4h_to_h\.(weight|bias)$)", Strategy::row},
          {R"((layernorm|ln_attn|ln_mlp|ln_f)\.(weight|bias)$)", Strategy::replicate},
      },
      .lm_head = R"(^lm_head\.weight$)",
      .required = {R"((^|\.)word_embeddings\.weight$)"},
      .required_per_layer = {R"((^|\.)h\.{i}\.self_attention\.query_key_value\.weight$)"},
  });
}

}  // namespace hubload::plan_internal
