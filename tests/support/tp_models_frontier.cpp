#include <algorithm>

#include "support/tp_models.h"

#include <stdexcept>

#include "support/test_support.h"

namespace hubload::testing {
namespace {

using u64 = std::uint64_t;

u64 val(const std::optional<std::int64_t>& v) { return static_cast<u64>(v.value_or(0)); }
u64 ceil_div(u64 a, u64 b) { return (a + b - 1) / b; }

// One linear layer "P.weight" [out, in], BF16 or FP8 with its block scale.
void linear(std::vector<TensorSpec>& out, const std::string& p, u64 rows, u64 cols, bool fp8) {
  if (!fp8) {
    out.push_back({p + ".weight", DType::BF16, {rows, cols}});
    return;
  }
  out.push_back({p + ".weight", DType::F8_E4M3, {rows, cols}});
  out.push_back({p + ".weight_scale_inv", DType::F32, {ceil_div(rows, 128), ceil_div(cols, 128)}});
}

void mlp(std::vector<TensorSpec>& out, const std::string& p, u64 h, u64 i, bool fp8) {
  linear(out, p + ".gate_proj", i, h, fp8);
  linear(out, p + ".up_proj", i, h, fp8);
  linear(out, p + ".down_proj", h, i, fp8);
}

void deepseek_layer(std::vector<TensorSpec>& out, const ModelConfig& c, std::int64_t i, bool fp8) {
  const u64 h = val(c.hidden_size), heads = val(c.num_attention_heads);
  const MlaConfig& a = *c.mla;
  const u64 nope = static_cast<u64>(a.qk_nope_head_dim), rope = static_cast<u64>(a.qk_rope_head_dim);
  const u64 v = static_cast<u64>(a.v_head_dim), kv = static_cast<u64>(a.kv_lora_rank);
  const std::string p = "model.layers." + std::to_string(i);
  out.push_back({p + ".input_layernorm.weight", DType::BF16, {h}});
  if (a.q_lora_rank) {
    const u64 q = static_cast<u64>(*a.q_lora_rank);
    linear(out, p + ".self_attn.q_a_proj", q, h, fp8);
    out.push_back({p + ".self_attn.q_a_layernorm.weight", DType::BF16, {q}});
    linear(out, p + ".self_attn.q_b_proj", heads * (nope + rope), q, fp8);
  } else {
    linear(out, p + ".self_attn.q_proj", heads * (nope + rope), h, fp8);
  }
  linear(out, p + ".self_attn.kv_a_proj_with_mqa", kv + rope, h, fp8);
  out.push_back({p + ".self_attn.kv_a_layernorm.weight", DType::BF16, {kv}});
  linear(out, p + ".self_attn.kv_b_proj", heads * (nope + v), kv, fp8);
  linear(out, p + ".self_attn.o_proj", h, heads * v, fp8);
  out.push_back({p + ".post_attention_layernorm.weight", DType::BF16, {h}});
  if (!c.moe || !c.moe->is_moe_layer(i)) {
    mlp(out, p + ".mlp", h, val(c.intermediate_size), fp8);
    return;
  }
  const MoeConfig& m = *c.moe;
  const u64 e = static_cast<u64>(m.num_experts), ei = val(m.expert_intermediate_size);
  out.push_back({p + ".mlp.gate.weight", DType::BF16, {e, h}});
  out.push_back({p + ".mlp.gate.e_score_correction_bias", DType::F32, {e}});
  for (u64 x = 0; x < e; ++x) mlp(out, p + ".mlp.experts." + std::to_string(x), h, ei, fp8);
  if (m.num_shared_experts > 0) mlp(out, p + ".mlp.shared_experts", h, val(m.shared_expert_intermediate_size), fp8);
}

}  // namespace

std::vector<TensorSpec> deepseek_specs(const ModelConfig& c, bool fp8) {
  std::vector<TensorSpec> out;
  const u64 h = val(c.hidden_size), vocab = val(c.vocab_size);
  const std::int64_t layers = c.num_hidden_layers.value_or(0);
  out.push_back({"model.embed_tokens.weight", DType::BF16, {vocab, h}});
  for (std::int64_t i = 0; i < layers; ++i) deepseek_layer(out, c, i, fp8);
  for (std::int64_t k = 0; k < c.num_mtp_layers; ++k) {
    const std::int64_t i = layers + k;
    const std::string p = "model.layers." + std::to_string(i);
    deepseek_layer(out, c, i, fp8);
    out.push_back({p + ".embed_tokens.weight", DType::BF16, {vocab, h}});
    out.push_back({p + ".enorm.weight", DType::BF16, {h}});
    out.push_back({p + ".hnorm.weight", DType::BF16, {h}});
    out.push_back({p + ".eh_proj.weight", DType::BF16, {h, 2 * h}});
    out.push_back({p + ".shared_head.norm.weight", DType::BF16, {h}});
    out.push_back({p + ".shared_head.head.weight", DType::BF16, {vocab, h}});
  }
  out.push_back({"model.norm.weight", DType::BF16, {h}});
  if (!c.tie_word_embeddings) out.push_back({"lm_head.weight", DType::BF16, {vocab, h}});
  return out;
}

namespace {

// One linear layer in the config's quantized layout.
void quantized_linear(std::vector<TensorSpec>& out, const QuantizationConfig& q, const std::string& p, u64 rows,
                      u64 cols) {
  const u64 g = q.group_size && *q.group_size > 0 ? static_cast<u64>(*q.group_size) : cols;
  const u64 pack = 32 / val(q.bits);
  switch (q.method) {
    case QuantMethod::fp8: linear(out, p, rows, cols, true); break;
    case QuantMethod::awq:
      out.push_back({p + ".qweight", DType::I32, {cols, rows / pack}});
      out.push_back({p + ".qzeros", DType::I32, {cols / g, rows / pack}});
      out.push_back({p + ".scales", DType::F16, {cols / g, rows}});
      break;
    case QuantMethod::gptq:
      out.push_back({p + ".qweight", DType::I32, {cols / pack, rows}});
      out.push_back({p + ".qzeros", DType::I32, {cols / g, rows / pack}});
      out.push_back({p + ".scales", DType::F16, {cols / g, rows}});
      out.push_back({p + ".g_idx", DType::I32, {cols}});
      break;
    case QuantMethod::compressed_tensors:  // pack-quantized WNA16, asymmetric
      out.push_back({p + ".weight_packed", DType::I32, {rows, cols / pack}});
      out.push_back({p + ".weight_scale", DType::BF16, {rows, cols / g}});
      out.push_back({p + ".weight_zero_point", DType::I32, {rows / pack, cols / g}});
      out.push_back({p + ".weight_shape", DType::I64, {2}});
      break;
    default: linear(out, p, rows, cols, false); break;
  }
}

}  // namespace

std::vector<TensorSpec> quantized_llama_specs(const ModelConfig& c) {
  const QuantizationConfig q = c.quantization.value_or(QuantizationConfig{});
  std::vector<TensorSpec> out;
  const u64 h = val(c.hidden_size), vocab = val(c.vocab_size), d = val(c.head_dim);
  const u64 hq = val(c.num_attention_heads), hkv = val(c.num_key_value_heads);
  out.push_back({"model.embed_tokens.weight", DType::BF16, {vocab, h}});
  for (std::int64_t i = 0; i < c.num_hidden_layers.value_or(0); ++i) {
    const std::string p = "model.layers." + std::to_string(i);
    out.push_back({p + ".input_layernorm.weight", DType::BF16, {h}});
    quantized_linear(out, q, p + ".self_attn.q_proj", hq * d, h);
    quantized_linear(out, q, p + ".self_attn.k_proj", hkv * d, h);
    quantized_linear(out, q, p + ".self_attn.v_proj", hkv * d, h);
    quantized_linear(out, q, p + ".self_attn.o_proj", h, hq * d);
    out.push_back({p + ".post_attention_layernorm.weight", DType::BF16, {h}});
    auto mlp_of = [&](const std::string& m, u64 width) {
      quantized_linear(out, q, m + ".gate_proj", width, h);
      quantized_linear(out, q, m + ".up_proj", width, h);
      quantized_linear(out, q, m + ".down_proj", h, width);
    };
    if (c.moe) {
      out.push_back({p + ".mlp.gate.weight", DType::BF16, {static_cast<u64>(c.moe->num_experts), h}});
      for (std::int64_t e = 0; e < c.moe->num_experts; ++e)
        mlp_of(p + ".mlp.experts." + std::to_string(e), val(c.moe->expert_intermediate_size));
    } else {
      mlp_of(p + ".mlp", val(c.intermediate_size));
    }
  }
  out.push_back({"model.norm.weight", DType::BF16, {h}});
  if (!c.tie_word_embeddings) out.push_back({"lm_head.weight", DType::BF16, {vocab, h}});
  return out;
}

ModelConfig kimi_k2_config() {
  auto c = load_model_config((testdata_dir() / "kimi-k2-config.json").string());
  if (!c) throw std::runtime_error(c.error().to_string());
  return std::move(c).value();
}

ModelConfig testdata_config(const std::string& dir, std::optional<std::int64_t> layers) {
  auto c = load_model_config((testdata_dir() / "configs" / dir).string());
  if (!c) throw std::runtime_error(c.error().to_string());
  if (layers) c->num_hidden_layers = layers;
  return std::move(c).value();
}

std::vector<CheckpointTensor> spec_tensors(const std::vector<TensorSpec>& specs) {
  std::vector<CheckpointTensor> out;
  out.reserve(specs.size());
  u64 offset = 0;
  for (const TensorSpec& s : specs) {
    CheckpointTensor t;
    t.info.name = s.name;
    t.info.dtype = s.dtype;
    t.info.shape = s.shape;
    t.info.offset = offset;
    u64 bits = dtype_bits(s.dtype);
    for (u64 d : s.shape) bits *= d;
    t.info.size = (bits + 7) / 8;
    offset += t.info.size;
    t.file = "model.safetensors";
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace hubload::testing
