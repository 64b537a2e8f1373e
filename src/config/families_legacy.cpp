// Families with their own key spellings (transformers' attribute_map) or remote code.
#include "config/families.h"

namespace hubload::config_internal {
namespace {

// MLPs that are 4 x hidden wide when the config does not say.
void four_times_hidden(ModelConfig& c, std::string_view key) {
  if (c.hidden_size) {
    fill<std::int64_t>(c.intermediate_size, 4 * *c.hidden_size, c,
                       "intermediate_size = 4 * hidden_size (" + std::string(key) + " absent)");
  }
}

// A key that names a standard field in this family's spelling (attribute_map).
struct RenamedSize {
  std::string_view key;
  std::optional<std::int64_t> ModelConfig::*field;
};

Status read_renamed(const FieldReader& r, ModelConfig& c, std::initializer_list<RenamedSize> renamed,
                    bool over_standard) {
  for (const RenamedSize& k : renamed) {
    HUBLOAD_ASSIGN_OR_RETURN(auto value, r.size({k.key}));
    if (value && (over_standard || !(c.*k.field))) c.*k.field = value;
  }
  return ok();
}

// Sets each field whose renamed key is present, over the standard key's value.
Status read_renamed_sizes(const FieldReader& r, ModelConfig& c, std::initializer_list<RenamedSize> renamed) {
  return read_renamed(r, c, renamed, true);
}

// Sets each field whose renamed key is present and the standard key was not.
Status read_fallback_sizes(const FieldReader& r, ModelConfig& c, std::initializer_list<RenamedSize> renamed) {
  return read_renamed(r, c, renamed, false);
}

}  // namespace

Status read_gpt2(const FieldReader& r, ModelConfig& c) {
  HUBLOAD_TRY(read_renamed_sizes(r, c,
                                 {{"n_layer", &ModelConfig::num_hidden_layers},
                                  {"n_embd", &ModelConfig::hidden_size},
                                  {"n_head", &ModelConfig::num_attention_heads},
                                  {"n_inner", &ModelConfig::intermediate_size},
                                  {"n_positions", &ModelConfig::max_position_embeddings}}));
  four_times_hidden(c, "n_inner");
  return ok();
}

Status read_bloom(const FieldReader& r, ModelConfig& c) {
  HUBLOAD_TRY(read_fallback_sizes(r, c,
                                  {{"n_layer", &ModelConfig::num_hidden_layers},
                                   {"n_embed", &ModelConfig::hidden_size},
                                   {"n_head", &ModelConfig::num_attention_heads}}));
  four_times_hidden(c, "BLOOM's MLP");
  return ok();
}

// FalconConfig: KV heads are num_kv_heads with new_decoder_architecture, 1 with
// multi_query (its default), else the query heads.
Status read_falcon(const FieldReader& r, ModelConfig& c) {
  HUBLOAD_TRY(read_fallback_sizes(
      r, c, {{"n_layer", &ModelConfig::num_hidden_layers}, {"n_head", &ModelConfig::num_attention_heads}}));
  HUBLOAD_ASSIGN_OR_RETURN(auto new_arch, r.boolean({"new_decoder_architecture"}));
  HUBLOAD_ASSIGN_OR_RETURN(auto multi_query, r.boolean({"multi_query"}));
  HUBLOAD_ASSIGN_OR_RETURN(auto kv, r.size({"num_kv_heads", "n_head_kv"}));
  if (new_arch.value_or(false)) {
    if (kv) {
      c.num_key_value_heads = kv;
      c.derivations.push_back("num_key_value_heads = num_kv_heads (new_decoder_architecture)");
    }
  } else if (multi_query.value_or(true)) {
    c.num_key_value_heads = 1;
    c.derivations.push_back("num_key_value_heads = 1 (multi_query)");
  }
  HUBLOAD_ASSIGN_OR_RETURN(auto ffn, r.size({"ffn_hidden_size"}));
  if (ffn) c.intermediate_size = ffn;
  four_times_hidden(c, "ffn_hidden_size");
  return ok();
}

// The remote-code RWConfig (falcon-40b's first revisions): n_head_kv means the
// new decoder architecture; without it, multi_query decides (default false).
Status read_refined_web(const FieldReader& r, ModelConfig& c) {
  HUBLOAD_TRY(read_fallback_sizes(
      r, c, {{"n_layer", &ModelConfig::num_hidden_layers}, {"n_head", &ModelConfig::num_attention_heads}}));
  HUBLOAD_ASSIGN_OR_RETURN(auto kv, r.size({"n_head_kv", "num_kv_heads"}));
  HUBLOAD_ASSIGN_OR_RETURN(auto multi_query, r.boolean({"multi_query"}));
  if (kv) {
    c.num_key_value_heads = kv;
    c.derivations.push_back("num_key_value_heads = n_head_kv (RefinedWeb new decoder architecture)");
  } else if (multi_query.value_or(false)) {
    c.num_key_value_heads = 1;
    c.derivations.push_back("num_key_value_heads = 1 (multi_query)");
  }
  four_times_hidden(c, "ffn_hidden_size");
  return ok();
}

Status read_opt(const FieldReader& r, ModelConfig& c) {
  HUBLOAD_ASSIGN_OR_RETURN(auto ffn, r.size({"ffn_dim"}));
  if (ffn) c.intermediate_size = ffn;
  HUBLOAD_ASSIGN_OR_RETURN(c.word_embed_proj_dim, r.size({"word_embed_proj_dim"}));
  return ok();
}

// T5Config: d_model, num_heads, d_kv (explicit head width), d_ff, num_layers
// (encoder) and num_decoder_layers (defaults to num_layers).
Status read_t5(const FieldReader& r, ModelConfig& c) {
  HUBLOAD_TRY(read_renamed_sizes(r, c,
                                 {{"d_model", &ModelConfig::hidden_size},
                                  {"num_heads", &ModelConfig::num_attention_heads},
                                  {"d_kv", &ModelConfig::head_dim},
                                  {"d_ff", &ModelConfig::intermediate_size}}));
  HUBLOAD_TRY(read_fallback_sizes(r, c, {{"n_positions", &ModelConfig::max_position_embeddings}}));
  HUBLOAD_ASSIGN_OR_RETURN(auto layers, r.size({"num_layers"}));
  HUBLOAD_ASSIGN_OR_RETURN(auto dec_layers, r.size({"num_decoder_layers"}));
  if (layers) {
    c.num_hidden_layers = layers;
    c.num_encoder_layers = layers;
    c.num_decoder_layers = dec_layers ? dec_layers : layers;
    if (!dec_layers) c.derivations.push_back("num_decoder_layers = num_layers");
  }
  return ok();
}

// ChatGLM (remote code): num_layers, multi_query_group_num KV groups with
// multi_query_attention, kv_channels per head, ffn_hidden_size, padded_vocab_size.
Status read_chatglm(const FieldReader& r, ModelConfig& c) {
  HUBLOAD_TRY(read_renamed_sizes(r, c,
                                 {{"num_layers", &ModelConfig::num_hidden_layers},
                                  {"kv_channels", &ModelConfig::head_dim},
                                  {"ffn_hidden_size", &ModelConfig::intermediate_size},
                                  {"padded_vocab_size", &ModelConfig::vocab_size}}));
  HUBLOAD_TRY(read_fallback_sizes(r, c, {{"seq_length", &ModelConfig::max_position_embeddings}}));
  HUBLOAD_ASSIGN_OR_RETURN(auto mqa, r.boolean({"multi_query_attention"}));
  HUBLOAD_ASSIGN_OR_RETURN(auto groups, r.size({"multi_query_group_num"}));
  if (mqa.value_or(false) && groups) {
    c.num_key_value_heads = groups;
    c.derivations.push_back("num_key_value_heads = multi_query_group_num (multi_query_attention)");
  }
  return ok();
}

// Qwen v1 (remote code): kv_channels per head; its MLP halves intermediate_size
// (w1/w2 are intermediate_size / 2 wide), so the split dimension is the half.
Status read_qwen_v1(const FieldReader& r, ModelConfig& c) {
  HUBLOAD_TRY(read_renamed_sizes(r, c, {{"kv_channels", &ModelConfig::head_dim}}));
  HUBLOAD_TRY(read_fallback_sizes(r, c, {{"seq_length", &ModelConfig::max_position_embeddings}}));
  HUBLOAD_ASSIGN_OR_RETURN(auto base, r.number({"rotary_emb_base"}));
  if (base && !c.rope_theta) c.rope_theta = base;
  if (c.intermediate_size) {
    if (*c.intermediate_size % 2 != 0) {
      return invalid_input(r.where("intermediate_size") + " " + std::to_string(*c.intermediate_size) +
                           " must be even (Qwen's MLP is intermediate_size / 2 wide)");
    }
    c.intermediate_size = *c.intermediate_size / 2;
    c.derivations.push_back("intermediate_size = config intermediate_size / 2 (QWenMLP)");
  }
  return ok();
}

}  // namespace hubload::config_internal
