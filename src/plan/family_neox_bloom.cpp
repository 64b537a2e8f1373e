// GPT-NeoX and BLOOM (tensor-parallel.md §7.2, §10.5, §10.7): a head-interleaved
// fused query_key_value, classic MLP, biases everywhere.
#include "plan/rules.h"

namespace hubload::plan_internal {

FamilyRules neox_family_rules(const ModelConfig& config) {
  return build_family(config, {
      .rules = {
          {R"(\.attention\.(bias|masked_bias|rotary_emb\.inv_freq)$)", Strategy::skip},
          {R"((^|\.)embed_in\.weight$)", Strategy::vocab},
          {R"(\.attention\.query_key_value\.(weight|bias)$)", Strategy::qkv_interleaved},
          {R"(\.attention\.dense\.(weight|bias)$)", Strategy::row},
          {R"(\.mlp\.dense_h_to_4h\.(weight|bias)$)", Strategy::column},
          {R"(\.mlp\.dense_4h_to_h\.(weight|bias)$)", Strategy::row},
          {R"(layer_?norm\.(weight|bias)$)", Strategy::replicate},
      },
      .lm_head = R"(^embed_out\.weight$)",
      .required = {R"((^|\.)embed_in\.weight$)"},
      .required_per_layer = {R"((^|\.)layers\.{i}\.attention\.query_key_value\.weight$)",
                             R"((^|\.)layers\.{i}\.attention\.dense\.weight$)"},
  });
}

FamilyRules bloom_family_rules(const ModelConfig& config) {
  return build_family(config, {
      .rules = {
          {R"((^|\.)word_embeddings\.weight$)", Strategy::vocab},
          {R"(\.self_attention\.query_key_value\.(weight|bias)$)", Strategy::qkv_interleaved},
          {R"(\.self_attention\.dense\.(weight|bias)$)", Strategy::row},
          {R"(\.mlp\.dense_h_to_4h\.(weight|bias)$)", Strategy::column},
          {R"(\.mlp\.dense_4h_to_h\.(weight|bias)$)", Strategy::row},
          {R"((layernorm|ln_f)\.(weight|bias)$)", Strategy::replicate},
      },
      .lm_head = R"(^lm_head\.weight$)",
      .required = {R"((^|\.)word_embeddings\.weight$)"},
      .required_per_layer = {R"((^|\.)h\.{i}\.self_attention\.query_key_value\.weight$)"},
  });
}

}  // namespace hubload::plan_internal
