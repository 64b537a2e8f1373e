// Parameter count from the config alone. Counts weights, not biases; close to
// the checkpoint's total for the families hubload knows, nullopt when a size it
// needs is undetermined.
#include "config/families.h"
#include "hubload/config.h"

namespace hubload {
namespace {

using config_internal::MlpKind;

bool is_gated(const ModelConfig& c, const config_internal::Family& f) {
  if (f.name == "t5" || f.name == "mt5" || f.name == "umt5") {
    auto proj = c.raw("/feed_forward_proj");
    return proj && proj->rfind("\"gated", 0) == 0;
  }
  return f.mlp == MlpKind::gated;
}

std::int64_t attention(const ModelConfig& c) {
  const std::int64_t h = *c.hidden_size, q = *c.num_attention_heads, d = *c.head_dim;
  if (c.mla) {
    const MlaConfig& a = *c.mla;
    const std::int64_t qk = a.qk_nope_head_dim + a.qk_rope_head_dim;
    std::int64_t n = 0;
    if (a.q_lora_rank) {
      n += h * *a.q_lora_rank + *a.q_lora_rank + *a.q_lora_rank * q * qk;  // q_a, q_a_norm, q_b
    } else {
      n += h * q * qk;
    }
    n += h * (a.kv_lora_rank + a.qk_rope_head_dim) + a.kv_lora_rank;      // kv_a (+ rope key), norm
    n += a.kv_lora_rank * q * (a.qk_nope_head_dim + a.v_head_dim);        // kv_b
    n += q * a.v_head_dim * h;                                            // o
    return n;
  }
  const std::int64_t kv = *c.num_key_value_heads;
  return h * q * d + 2 * h * kv * d + q * d * h;
}

}  // namespace

std::optional<std::int64_t> ModelConfig::estimated_parameters() const {
  const config_internal::Family* f = config_internal::find_family(family);
  if (!f) return std::nullopt;
  if (!num_hidden_layers || !hidden_size || !num_attention_heads || !num_key_value_heads || !head_dim ||
      !vocab_size || (!intermediate_size && !moe)) {
    return std::nullopt;
  }
  // Every size is bounded by kMaxSize (2^40); the products below stay in range
  // for real models, and __int128 keeps a hostile config from overflowing.
  using big = __int128;
  const big h = *hidden_size, layers = *num_hidden_layers, v = *vocab_size;
  const big mlp_mats = is_gated(*this, *f) ? 3 : 2;
  const big embed_width = word_embed_proj_dim.value_or(*hidden_size);

  big total = v * embed_width;
  if (!tie_word_embeddings) total += v * embed_width;
  if (word_embed_proj_dim && *word_embed_proj_dim != *hidden_size) total += 2 * h * embed_width;
  if (f->learned_positions && max_position_embeddings) total += big(*max_position_embeddings) * h;

  const big attn = attention(*this);
  const big norms = 2 * h;
  big dense_mlp = intermediate_size ? mlp_mats * h * *intermediate_size : 0;
  big per_layer_moe = 0;
  big moe_layers = 0;
  if (moe) {
    const big ei = moe->expert_intermediate_size.value_or(intermediate_size.value_or(0));
    per_layer_moe = big(moe->num_experts) * mlp_mats * h * ei + h * moe->num_experts;  // experts + router
    if (moe->shared_expert_intermediate_size) per_layer_moe += mlp_mats * h * *moe->shared_expert_intermediate_size;
    moe_layers = layers - std::min<big>(layers, moe->num_dense_layers);
  }
  if (num_encoder_layers && num_decoder_layers) {
    // Encoder: self-attention + MLP; decoder adds cross-attention and a third norm.
    total += big(*num_encoder_layers) * (attn + dense_mlp + norms);
    total += big(*num_decoder_layers) * (2 * attn + dense_mlp + 3 * h);
    total += 2 * h;  // the two final norms
  } else {
    total += (layers - moe_layers) * (attn + dense_mlp + norms);
    total += moe_layers * (attn + per_layer_moe + norms);
    total += h;  // final norm
  }
  if (total > big(INT64_MAX)) return std::nullopt;
  return static_cast<std::int64_t>(total);
}

}  // namespace hubload
