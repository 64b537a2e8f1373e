// The gpt-oss, Llama-4 and Qwen3-Next layouts with their published tensor names
// (tensor-parallel-frontier.md §2, §3, §5), shapes from a config.
#include "support/tp_models.h"

namespace hubload::testing {
namespace {

using u64 = std::uint64_t;

u64 val(const std::optional<std::int64_t>& v) { return static_cast<u64>(v.value_or(0)); }

struct Dims {
  u64 h, hq, hkv, d, v, e, ei;
};

Dims dims_of(const ModelConfig& c) {
  return {val(c.hidden_size), val(c.num_attention_heads), val(c.num_key_value_heads), val(c.head_dim),
          val(c.vocab_size),  c.moe ? static_cast<u64>(c.moe->num_experts) : 0,
          c.moe ? val(c.moe->expert_intermediate_size) : 0};
}

void attention(std::vector<TensorSpec>& out, const std::string& p, const Dims& x, bool bias) {
  out.push_back({p + ".self_attn.q_proj.weight", DType::BF16, {x.hq * x.d, x.h}});
  out.push_back({p + ".self_attn.k_proj.weight", DType::BF16, {x.hkv * x.d, x.h}});
  out.push_back({p + ".self_attn.v_proj.weight", DType::BF16, {x.hkv * x.d, x.h}});
  out.push_back({p + ".self_attn.o_proj.weight", DType::BF16, {x.h, x.hq * x.d}});
  if (!bias) return;
  out.push_back({p + ".self_attn.q_proj.bias", DType::BF16, {x.hq * x.d}});
  out.push_back({p + ".self_attn.k_proj.bias", DType::BF16, {x.hkv * x.d}});
  out.push_back({p + ".self_attn.v_proj.bias", DType::BF16, {x.hkv * x.d}});
  out.push_back({p + ".self_attn.o_proj.bias", DType::BF16, {x.h}});
}

// gate/up [i, h] and down [h, i]; `fp8`: F8 weights with per-channel [out, 1] scales.
void mlp(std::vector<TensorSpec>& out, const std::string& p, u64 h, u64 i, bool fp8 = false) {
  const DType t = fp8 ? DType::F8_E4M3 : DType::BF16;
  for (const char* n : {".gate_proj", ".up_proj"}) {
    out.push_back({p + n + ".weight", t, {i, h}});
    if (fp8) out.push_back({p + n + ".weight_scale", DType::BF16, {i, 1}});
  }
  out.push_back({p + ".down_proj.weight", t, {h, i}});
  if (fp8) out.push_back({p + ".down_proj.weight_scale", DType::BF16, {h, 1}});
}

void norms(std::vector<TensorSpec>& out, const std::string& p, u64 h) {
  out.push_back({p + ".input_layernorm.weight", DType::BF16, {h}});
  out.push_back({p + ".post_attention_layernorm.weight", DType::BF16, {h}});
}

}  // namespace

std::vector<TensorSpec> gpt_oss_specs(const ModelConfig& c) {
  const Dims x = dims_of(c);
  const bool mxfp4 = c.quantization && c.quantization->method == QuantMethod::mxfp4;
  std::vector<TensorSpec> out;
  out.push_back({"model.embed_tokens.weight", DType::BF16, {x.v, x.h}});
  for (std::int64_t i = 0; i < c.num_hidden_layers.value_or(0); ++i) {
    const std::string p = "model.layers." + std::to_string(i);
    norms(out, p, x.h);
    attention(out, p, x, true);
    out.push_back({p + ".self_attn.sinks", DType::BF16, {x.hq}});
    out.push_back({p + ".mlp.router.weight", DType::BF16, {x.e, x.h}});
    out.push_back({p + ".mlp.router.bias", DType::BF16, {x.e}});
    const std::string m = p + ".mlp.experts.";
    if (mxfp4) {  // 32 FP4 values per block, two to a byte, low nibble first; one E8M0 scale per block
      out.push_back({m + "gate_up_proj_blocks", DType::U8, {x.e, 2 * x.ei, x.h / 32, 16}});
      out.push_back({m + "gate_up_proj_scales", DType::U8, {x.e, 2 * x.ei, x.h / 32}});
      out.push_back({m + "down_proj_blocks", DType::U8, {x.e, x.h, x.ei / 32, 16}});
      out.push_back({m + "down_proj_scales", DType::U8, {x.e, x.h, x.ei / 32}});
    } else {  // transformers' BF16 layout: [E, in, out]
      out.push_back({m + "gate_up_proj", DType::BF16, {x.e, x.h, 2 * x.ei}});
      out.push_back({m + "down_proj", DType::BF16, {x.e, x.ei, x.h}});
    }
    out.push_back({m + "gate_up_proj_bias", DType::BF16, {x.e, 2 * x.ei}});
    out.push_back({m + "down_proj_bias", DType::BF16, {x.e, x.h}});
  }
  out.push_back({"model.norm.weight", DType::BF16, {x.h}});
  out.push_back({"lm_head.weight", DType::BF16, {x.v, x.h}});
  return out;
}

std::vector<TensorSpec> llama4_specs(const ModelConfig& c, bool vision) {
  const Dims x = dims_of(c);
  // Maverick FP8 (compressed-tensors, channel): only the routed experts are quantized,
  // and they are stored per expert.
  const bool fp8 = c.quantization.has_value();
  const std::string lm = "language_model.model.";
  std::vector<TensorSpec> out;
  out.push_back({lm + "embed_tokens.weight", DType::BF16, {x.v, x.h}});
  for (std::int64_t i = 0; i < c.num_hidden_layers.value_or(0); ++i) {
    const std::string p = lm + "layers." + std::to_string(i);
    norms(out, p, x.h);
    attention(out, p, x, false);
    const std::string f = p + ".feed_forward";
    if (!c.moe || !c.moe->is_moe_layer(i)) {
      mlp(out, f, x.h, val(c.intermediate_size));
      continue;
    }
    out.push_back({f + ".router.weight", DType::BF16, {x.e, x.h}});
    if (fp8) {
      for (u64 e = 0; e < x.e; ++e) mlp(out, f + ".experts." + std::to_string(e), x.h, x.ei, true);
    } else {  // fused and transposed: gate_up [E, H, 2I] (gate = [..., :I], up = [..., I:]), down [E, I, H]
      out.push_back({f + ".experts.gate_up_proj", DType::BF16, {x.e, x.h, 2 * x.ei}});
      out.push_back({f + ".experts.down_proj", DType::BF16, {x.e, x.ei, x.h}});
    }
    mlp(out, f + ".shared_expert", x.h, val(c.moe->shared_expert_intermediate_size));
  }
  out.push_back({lm + "norm.weight", DType::BF16, {x.h}});
  out.push_back({"language_model.lm_head.weight", DType::BF16, {x.v, x.h}});
  if (vision) {  // a stand-in for the vision tower and projector (replicated): one layer's names
    const u64 hv = 32;
    out.push_back({"vision_model.patch_embedding.linear.weight", DType::BF16, {hv, 3 * 4 * 4}});
    out.push_back({"vision_model.model.layers.0.self_attn.q_proj.weight", DType::BF16, {hv, hv}});
    out.push_back({"vision_model.model.layers.0.self_attn.q_proj.bias", DType::BF16, {hv}});
    out.push_back({"vision_model.model.layers.0.mlp.fc1.weight", DType::BF16, {2 * hv, hv}});
    out.push_back({"vision_model.layernorm_post.weight", DType::BF16, {hv}});
    out.push_back({"multi_modal_projector.linear_1.weight", DType::BF16, {x.h, hv}});
  }
  return out;
}

std::vector<TensorSpec> qwen3_next_specs(const ModelConfig& c) {
  const Dims x = dims_of(c);
  const LinearAttentionConfig& la = *c.linear_attention;
  const u64 nk = static_cast<u64>(la.num_key_heads), nv = static_cast<u64>(la.num_value_heads);
  const u64 kd = nk * static_cast<u64>(la.key_head_dim), vd = nv * static_cast<u64>(la.value_head_dim);
  const std::int64_t layers = c.num_hidden_layers.value_or(0);
  std::vector<TensorSpec> out;
  out.push_back({"model.embed_tokens.weight", DType::BF16, {x.v, x.h}});
  auto layer = [&](const std::string& p, bool full) {
    norms(out, p, x.h);
    if (full) {  // q_proj holds query and gate per head: 2·Hq·D rows
      out.push_back({p + ".self_attn.q_proj.weight", DType::BF16, {2 * x.hq * x.d, x.h}});
      out.push_back({p + ".self_attn.k_proj.weight", DType::BF16, {x.hkv * x.d, x.h}});
      out.push_back({p + ".self_attn.v_proj.weight", DType::BF16, {x.hkv * x.d, x.h}});
      out.push_back({p + ".self_attn.o_proj.weight", DType::BF16, {x.h, x.hq * x.d}});
      out.push_back({p + ".self_attn.q_norm.weight", DType::BF16, {x.d}});
      out.push_back({p + ".self_attn.k_norm.weight", DType::BF16, {x.d}});
    } else {
      const std::string a = p + ".linear_attn.";
      out.push_back({a + "in_proj_qkvz.weight", DType::BF16, {2 * kd + 2 * vd, x.h}});
      out.push_back({a + "in_proj_ba.weight", DType::BF16, {2 * nv, x.h}});
      out.push_back({a + "conv1d.weight", DType::BF16, {2 * kd + vd, 1, static_cast<u64>(la.conv_kernel)}});
      out.push_back({a + "A_log", DType::F32, {nv}});
      out.push_back({a + "dt_bias", DType::BF16, {nv}});
      out.push_back({a + "norm.weight", DType::F32, {static_cast<u64>(la.value_head_dim)}});
      out.push_back({a + "out_proj.weight", DType::BF16, {x.h, vd}});
    }
    out.push_back({p + ".mlp.gate.weight", DType::BF16, {x.e, x.h}});
    for (u64 e = 0; e < x.e; ++e) mlp(out, p + ".mlp.experts." + std::to_string(e), x.h, x.ei);
    mlp(out, p + ".mlp.shared_expert", x.h, val(c.moe->shared_expert_intermediate_size));
    out.push_back({p + ".mlp.shared_expert_gate.weight", DType::BF16, {1, x.h}});
  };
  for (std::int64_t i = 0; i < layers; ++i) {
    const bool full = static_cast<std::size_t>(i) < c.layer_types.size() && c.layer_types[i] == "full_attention";
    layer("model.layers." + std::to_string(i), full);
  }
  out.push_back({"model.norm.weight", DType::BF16, {x.h}});
  // The MTP layer: fc over [embedding; hidden], its norms, one full-attention layer.
  out.push_back({"mtp.fc.weight", DType::BF16, {x.h, 2 * x.h}});
  out.push_back({"mtp.pre_fc_norm_embedding.weight", DType::BF16, {x.h}});
  out.push_back({"mtp.pre_fc_norm_hidden.weight", DType::BF16, {x.h}});
  layer("mtp.layers.0", true);
  out.push_back({"mtp.norm.weight", DType::BF16, {x.h}});
  out.push_back({"lm_head.weight", DType::BF16, {x.v, x.h}});
  return out;
}

}  // namespace hubload::testing
