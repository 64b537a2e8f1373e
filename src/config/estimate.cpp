// Parameter count from the config alone. Counts weights, not biases; close to
// the checkpoint's total for the families hubload knows, nullopt when a size it
// needs is undetermined.
#include "config/families.h"
#include "hubload/config.h"

#include <iterator>

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

// Attention of a Gated DeltaNet layer (Qwen3-Next): in_proj_qkvz, in_proj_ba,
// the causal conv over q/k/v, out_proj.
std::int64_t linear_attention(const ModelConfig& c) {
  const LinearAttentionConfig& l = *c.linear_attention;
  const std::int64_t h = *c.hidden_size, kd = l.num_key_heads * l.key_head_dim, vd = l.num_value_heads * l.value_head_dim;
  return h * (2 * kd + 2 * vd) + h * 2 * l.num_value_heads + (2 * kd + vd) * l.conv_kernel + vd * h;
}

// Parameters by kind, so that quantized widths can be applied per kind.
struct Breakdown {
  __int128 embeddings = 0;  // embeddings, LM head, positions
  __int128 attention = 0;
  __int128 experts = 0;     // routed experts
  __int128 mlp = 0;         // dense MLPs and shared experts
  __int128 other = 0;       // norms, routers
  __int128 total() const { return embeddings + attention + experts + mlp + other; }
};

std::optional<Breakdown> breakdown(const ModelConfig& c) {
  const config_internal::Family* f = config_internal::find_family(c.family);
  if (!f) return std::nullopt;
  if (!c.num_hidden_layers || !c.hidden_size || !c.num_attention_heads || !c.num_key_value_heads || !c.head_dim ||
      !c.vocab_size || (!c.intermediate_size && !c.moe)) {
    return std::nullopt;
  }
  // Every size is bounded by kMaxSize (2^40); the products below stay in range
  // for real models, and __int128 keeps a hostile config from overflowing.
  using big = __int128;
  const big h = *c.hidden_size, layers = *c.num_hidden_layers, v = *c.vocab_size;
  const big mlp_mats = is_gated(c, *f) ? 3 : 2;
  const big embed_width = c.word_embed_proj_dim.value_or(*c.hidden_size);

  Breakdown b;
  b.embeddings = v * embed_width;
  if (!c.tie_word_embeddings) b.embeddings += v * embed_width;
  if (c.word_embed_proj_dim && *c.word_embed_proj_dim != *c.hidden_size) b.embeddings += 2 * h * embed_width;
  if (f->learned_positions && c.max_position_embeddings) b.embeddings += big(*c.max_position_embeddings) * h;

  big attn_total = 0;
  if (c.linear_attention && std::ssize(c.layer_types) == *c.num_hidden_layers) {
    // Full-attention layers carry a per-head output gate: q_proj is twice as wide.
    const big full = attention(c) + h * *c.num_attention_heads * *c.head_dim;
    for (const std::string& t : c.layer_types) attn_total += t == "linear_attention" ? big(linear_attention(c)) : full;
  } else {
    attn_total = layers * big(attention(c));
  }
  const big norms = 2 * h;
  const big dense_mlp = c.intermediate_size ? mlp_mats * h * *c.intermediate_size : 0;
  big moe_layers = 0;
  if (c.num_encoder_layers && c.num_decoder_layers) {
    // Encoder: self-attention + MLP; decoder adds cross-attention and a third norm.
    const big attn = attention(c);
    b.attention = big(*c.num_encoder_layers) * attn + big(*c.num_decoder_layers) * 2 * attn;
    b.mlp = big(*c.num_encoder_layers + *c.num_decoder_layers) * dense_mlp;
    b.other = big(*c.num_encoder_layers) * norms + big(*c.num_decoder_layers) * 3 * h + 2 * h;
    return b;
  }
  b.attention = attn_total;
  if (c.moe) {
    const MoeConfig& m = *c.moe;
    moe_layers = m.moe_layer_count(*c.num_hidden_layers);
    const big ei = m.expert_intermediate_size.value_or(c.intermediate_size.value_or(0));
    b.experts = moe_layers * big(m.num_experts) * mlp_mats * h * ei;
    b.other += moe_layers * h * m.num_experts;  // routers
    if (m.shared_expert_intermediate_size) b.mlp += moe_layers * mlp_mats * h * *m.shared_expert_intermediate_size;
  }
  b.mlp += (layers - moe_layers) * dense_mlp;
  b.other += layers * norms + h;  // + final norm
  return b;
}

std::int64_t dtype_bytes(const std::optional<std::string>& dtype) {
  if (dtype == "float32") return 4;
  if (dtype == "float8_e4m3fn" || dtype == "int8") return 1;
  return 2;
}

}  // namespace

bool MoeConfig::is_moe_layer(std::int64_t layer) const {
  if (layer < num_dense_layers) return false;
  if (layer_freq <= 1) return true;
  return freq_counts_from_one ? (layer + 1) % layer_freq == 0 : layer % layer_freq == 0;
}

std::int64_t MoeConfig::moe_layer_count(std::int64_t layers) const {
  std::int64_t n = 0;
  for (std::int64_t i = 0; i < layers; ++i) n += is_moe_layer(i) ? 1 : 0;
  return n;
}

std::optional<std::int64_t> ModelConfig::estimated_parameters() const {
  auto b = breakdown(*this);
  if (!b || b->total() > __int128(INT64_MAX)) return std::nullopt;
  return static_cast<std::int64_t>(b->total());
}

std::optional<std::int64_t> ModelConfig::estimated_weight_bytes() const {
  auto b = breakdown(*this);
  if (!b) return std::nullopt;
  const double plain = static_cast<double>(dtype_bytes(dtype));
  double bytes = static_cast<double>(b->total()) * plain;
  if (quantization) {
    const QuantizationConfig& q = *quantization;
    const double qb = q.weight_bytes();
    // Routers, norms, embeddings and the head stay unquantized in every published layout;
    // gpt-oss quantizes only its experts (its modules_to_not_convert names self_attn).
    bool attention_quantized = q.method != QuantMethod::mxfp4;
    for (const std::string& m : q.modules_not_converted)
      if (m.find("self_attn") != std::string::npos) attention_quantized = false;
    double quantized = static_cast<double>(b->experts);
    if (q.method != QuantMethod::mxfp4) quantized += static_cast<double>(b->mlp);
    if (attention_quantized) quantized += static_cast<double>(b->attention);
    bytes -= quantized * (plain - qb);
  }
  if (bytes > 9.2e18) return std::nullopt;
  return static_cast<std::int64_t>(bytes);
}

}  // namespace hubload
