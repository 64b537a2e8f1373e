#include "support/tp_models.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <functional>
#include <map>

#include "support/test_support.h"

namespace hubload::testing {
namespace {

using u64 = std::uint64_t;
using Shape = std::vector<u64>;

u64 elements(const Shape& s) {
  u64 n = 1;
  for (u64 d : s) n *= d;
  return n;
}

std::size_t elem_size(DType d) { return std::max<std::size_t>(1, dtype_bits(d) / 8); }

std::uint16_t to_bf16(float f) {
  std::uint32_t b;
  std::memcpy(&b, &f, 4);
  return static_cast<std::uint16_t>((b + 0x7fffu + ((b >> 16) & 1u)) >> 16);
}

void store(DType d, std::byte* p, float v) {
  if (d == DType::F32) {
    std::memcpy(p, &v, 4);
  } else {
    std::uint16_t h = to_bf16(v);
    std::memcpy(p, &h, 2);
  }
}

const char* prefix_for(const std::string& t) {
  if (t == "gpt2") return "h.";
  if (t == "gpt_neox") return "gpt_neox.layers.";
  if (t == "falcon" || t == "bloom") return "transformer.h.";
  if (t == "opt") return "model.decoder.layers.";
  return "model.layers.";
}

}  // namespace

std::vector<std::string> tiny_families() {
  return {"llama", "mistral", "mixtral", "qwen2", "qwen2_moe", "qwen3", "gemma",
          "gemma2", "phi3", "gpt2", "gpt_neox", "falcon", "bloom", "opt"};
}

ModelConfig tiny_config(const std::string& t, TinyDims d) {
  ModelConfig c;
  c.source = "tiny-" + t + "/config.json";
  c.model_type = t;
  c.num_hidden_layers = d.layers;
  c.hidden_size = d.hidden;
  c.num_attention_heads = d.heads;
  bool mha = t == "gpt2" || t == "gpt_neox" || t == "bloom" || t == "opt";
  c.num_key_value_heads = mha ? d.heads : d.kv_heads;
  c.head_dim = mha ? d.hidden / d.heads : d.head_dim;
  c.intermediate_size = t == "gpt2" ? 4 * d.hidden : d.intermediate;
  c.vocab_size = d.vocab;
  c.max_position_embeddings = d.positions;
  c.tie_word_embeddings = d.tied;
  if (t == "mixtral" || t == "qwen2_moe" || t == "qwen3_moe") {
    MoeConfig m;
    m.num_experts = d.experts;
    m.expert_intermediate_size = d.intermediate;
    c.moe = m;
  }
  return c;
}

std::vector<TensorSpec> tiny_specs(const ModelConfig& c, const TinyDims& d) {
  const std::string& t = c.model_type;
  const u64 H = static_cast<u64>(*c.hidden_size), Hq = static_cast<u64>(*c.num_attention_heads);
  const u64 Hkv = static_cast<u64>(*c.num_key_value_heads), D = static_cast<u64>(*c.head_dim);
  const u64 I = static_cast<u64>(*c.intermediate_size), V = static_cast<u64>(d.vocab);
  std::vector<TensorSpec> s;
  auto add = [&](std::string name, Shape shape) { s.push_back({std::move(name), DType::F32, std::move(shape)}); };
  // "P.weight" and "P.bias": a layer norm over H, or a linear layer with a bias of `out`.
  auto norm = [&](const std::string& p) {
    add(p + ".weight", {H});
    add(p + ".bias", {H});
  };
  auto affine = [&](const std::string& p, Shape weight, u64 out) {
    add(p + ".weight", std::move(weight));
    add(p + ".bias", {out});
  };
  // A gated MLP under prefix `p` with its three projections' names.
  auto mlp = [&](const std::string& p, const char* gate, const char* up, const char* down) {
    add(p + gate + ".weight", {I, H});
    add(p + up + ".weight", {I, H});
    add(p + down + ".weight", {H, I});
  };
  const std::string p = prefix_for(t);
  if (t == "gpt2") {
    add("wte.weight", {V, H});
    add("wpe.weight", {static_cast<u64>(d.positions), H});
  } else if (t == "gpt_neox") {
    add("gpt_neox.embed_in.weight", {V, H});
  } else if (t == "falcon" || t == "bloom") {
    add("transformer.word_embeddings.weight", {V, H});
    if (t == "bloom") norm("transformer.word_embeddings_layernorm");
  } else if (t == "opt") {
    add("model.decoder.embed_tokens.weight", {V, H});
    add("model.decoder.embed_positions.weight", {static_cast<u64>(d.positions) + 2, H});
  } else {
    add("model.embed_tokens.weight", {V, H});
  }
  for (std::int64_t i = 0; i < d.layers; ++i) {
    const std::string l = p + std::to_string(i) + ".";
    if (t == "gpt2") {
      norm(l + "ln_1");
      add(l + "attn.bias", {1, 1, 4, 4});
      affine(l + "attn.c_attn", {H, 3 * H}, 3 * H);
      affine(l + "attn.c_proj", {H, H}, H);
      norm(l + "ln_2");
      affine(l + "mlp.c_fc", {H, I}, I);
      affine(l + "mlp.c_proj", {I, H}, H);
    } else if (t == "gpt_neox" || t == "bloom" || t == "falcon") {
      const std::string attn = t == "gpt_neox" ? "attention." : "self_attention.";
      const u64 qkv = (Hq + 2 * (t == "falcon" ? Hkv : Hq)) * D;
      const bool bias = t != "falcon";
      norm(l + (t == "falcon" ? "ln_attn" : "input_layernorm"));
      norm(l + (t == "falcon" ? "ln_mlp" : "post_attention_layernorm"));
      if (t == "gpt_neox") add(l + "attention.rotary_emb.inv_freq", {D / 2});
      add(l + attn + "query_key_value.weight", {qkv, H});
      if (bias) add(l + attn + "query_key_value.bias", {qkv});
      add(l + attn + "dense.weight", {H, Hq * D});
      if (bias) add(l + attn + "dense.bias", {H});
      add(l + "mlp.dense_h_to_4h.weight", {I, H});
      if (bias) add(l + "mlp.dense_h_to_4h.bias", {I});
      add(l + "mlp.dense_4h_to_h.weight", {H, I});
      if (bias) add(l + "mlp.dense_4h_to_h.bias", {H});
    } else if (t == "opt") {
      for (const char* n : {"q_proj", "k_proj", "v_proj", "out_proj"}) affine(l + "self_attn." + n, {H, H}, H);
      norm(l + "self_attn_layer_norm");
      affine(l + "fc1", {I, H}, I);
      affine(l + "fc2", {H, I}, H);
      norm(l + "final_layer_norm");
    } else {
      add(l + "input_layernorm.weight", {H});
      if (t == "phi3") {
        add(l + "self_attn.qkv_proj.weight", {(Hq + 2 * Hkv) * D, H});
      } else {
        add(l + "self_attn.q_proj.weight", {Hq * D, H});
        add(l + "self_attn.k_proj.weight", {Hkv * D, H});
        add(l + "self_attn.v_proj.weight", {Hkv * D, H});
        if (t == "qwen2" || t == "qwen2_moe" || d.qkv_bias) {
          add(l + "self_attn.q_proj.bias", {Hq * D});
          add(l + "self_attn.k_proj.bias", {Hkv * D});
          add(l + "self_attn.v_proj.bias", {Hkv * D});
        }
      }
      if (t == "qwen3" || t == "qwen3_moe") {
        add(l + "self_attn.q_norm.weight", {D});
        add(l + "self_attn.k_norm.weight", {D});
      }
      add(l + "self_attn.o_proj.weight", {H, Hq * D});
      add(l + "post_attention_layernorm.weight", {H});
      if (t == "gemma2") {
        add(l + "pre_feedforward_layernorm.weight", {H});
        add(l + "post_feedforward_layernorm.weight", {H});
      }
      const u64 E = static_cast<u64>(d.experts);
      if (t == "mixtral") {
        add(l + "block_sparse_moe.gate.weight", {E, H});
        for (u64 e = 0; e < E; ++e) mlp(l + "block_sparse_moe.experts." + std::to_string(e) + ".", "w1", "w3", "w2");
      } else if (t == "qwen2_moe" || t == "qwen3_moe") {
        add(l + "mlp.gate.weight", {E, H});
        for (u64 e = 0; e < E; ++e) mlp(l + "mlp.experts." + std::to_string(e) + ".", "gate_proj", "up_proj", "down_proj");
        if (t == "qwen2_moe") {
          mlp(l + "mlp.shared_expert.", "gate_proj", "up_proj", "down_proj");
          add(l + "mlp.shared_expert_gate.weight", {1, H});
        }
      } else if (t == "phi3") {
        add(l + "mlp.gate_up_proj.weight", {2 * I, H});
        add(l + "mlp.down_proj.weight", {H, I});
      } else {
        mlp(l + "mlp.", "gate_proj", "up_proj", "down_proj");
      }
    }
  }
  if (t == "gpt2") {
    norm("ln_f");
  } else if (t == "gpt_neox") {
    norm("gpt_neox.final_layer_norm");
    if (!d.tied) add("embed_out.weight", {V, H});
    return s;
  } else if (t == "falcon" || t == "bloom") {
    norm("transformer.ln_f");
  } else if (t == "opt") {
    norm("model.decoder.final_layer_norm");
  } else {
    add("model.norm.weight", {H});
  }
  if (!d.tied) add("lm_head.weight", {V, H});
  return s;
}

static TinyCheckpoint layout(const std::vector<TensorSpec>& specs, DType dtype, u64 data_offset,
                             const std::function<float(std::size_t, u64)>& value) {
  TinyCheckpoint c;
  u64 offset = data_offset;
  for (const TensorSpec& spec : specs) {
    TensorInfo info;
    info.name = spec.name;
    info.dtype = dtype;
    info.shape = spec.shape;
    info.offset = offset;
    info.size = elements(spec.shape) * elem_size(dtype);
    offset += info.size;
    c.tensors.push_back({info, "model.safetensors"});
  }
  c.file.assign(offset, std::byte{0});
  for (std::size_t t = 0; t < c.tensors.size(); ++t) {
    const TensorInfo& info = c.tensors[t].info;
    for (u64 i = 0; i < elements(info.shape); ++i)
      store(dtype, c.file.data() + info.offset + i * elem_size(dtype), value(t, i));
  }
  return c;
}

TinyCheckpoint make_checkpoint(const std::vector<TensorSpec>& specs, DType dtype, std::uint32_t seed,
                               u64 data_offset) {
  return layout(specs, dtype, data_offset, [seed](std::size_t t, u64 i) {
    std::uint64_t x = (static_cast<u64>(seed) << 40) ^ (static_cast<u64>(t) << 24) ^ i;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return static_cast<float>(static_cast<double>(x % 2000001) / 1000000.0 - 1.0);  // [-1, 1]
  });
}

TinyCheckpoint make_index_checkpoint(const std::vector<TensorSpec>& specs, DType dtype, u64 data_offset) {
  return layout(specs, dtype, data_offset, [](std::size_t, u64 i) { return static_cast<float>(i); });
}

std::vector<std::vector<std::byte>> apply_rank_plan(const RankPlan& plan, const std::vector<std::byte>& file) {
  std::vector<std::vector<std::byte>> out;
  for (const RankTensor& t : plan.tensors) {
    std::vector<std::byte> buf(t.bytes, std::byte{0x5a});  // garbage where nothing writes
    for (const ByteRun& r : t.runs) std::memcpy(buf.data() + r.dest_offset, file.data() + r.file_offset, r.length);
    for (const SliceRange& z : t.zero_fill) std::memset(buf.data() + z.start, 0, z.length);
    out.push_back(std::move(buf));
  }
  return out;
}

std::vector<std::byte> reassemble(const TensorPlan& plan, const std::vector<std::vector<std::byte>>& rank_bytes) {
  const TensorInfo& info = plan.info;
  const std::size_t es = elem_size(info.dtype);
  std::vector<std::byte> full(info.size);
  std::vector<bool> seen(elements(info.shape), false);
  for (std::size_t r = 0; r < plan.ranks.size(); ++r) {
    const TensorSlice& s = plan.ranks[r];
    if (!s.present) continue;
    const std::vector<std::byte>& src = rank_bytes[r];
    Shape rshape = plan.rank_shape(static_cast<int>(r));
    // Map each rank element index (multi-index) back to the full index.
    for (u64 e = 0; e < elements(rshape); ++e) {
      Shape idx(rshape.size());
      u64 rem = e;
      for (std::size_t k = rshape.size(); k-- > 0;) {
        idx[k] = rem % rshape[k];
        rem /= rshape[k];
      }
      if (s.dim >= 0) {
        u64 pos = idx[static_cast<std::size_t>(s.dim)], acc = 0;
        bool mapped = false;
        for (const SliceRange& range : s.ranges) {
          if (pos < acc + range.length) {
            idx[static_cast<std::size_t>(s.dim)] = range.start + (pos - acc);
            mapped = true;
            break;
          }
          acc += range.length;
        }
        if (!mapped) {  // padding: must be zero
          for (std::size_t b = 0; b < es; ++b)
            if (src[e * es + b] != std::byte{0}) return {};
          continue;
        }
      }
      u64 flat = 0;
      for (std::size_t k = 0; k < idx.size(); ++k) flat = flat * info.shape[k] + idx[k];
      if (seen[flat]) {
        if (std::memcmp(full.data() + flat * es, src.data() + e * es, es) != 0) return {};
      } else {
        std::memcpy(full.data() + flat * es, src.data() + e * es, es);
        seen[flat] = true;
      }
    }
  }
  for (bool b : seen)
    if (!b) return {};
  return full;
}

std::string tiny_config_json(const std::string& t, const TinyDims& d) {
  ModelConfig c = tiny_config(t, d);
  nlohmann::json j = {{"model_type", t}, {"vocab_size", d.vocab}, {"tie_word_embeddings", d.tied},
                      {"torch_dtype", "float32"}};
  if (t == "gpt2") {
    j.update({{"n_embd", d.hidden}, {"n_head", d.heads}, {"n_layer", d.layers}, {"n_positions", d.positions},
              {"n_inner", nullptr}, {"architectures", {"GPT2LMHeadModel"}}});
  } else if (t == "bloom") {
    j.update({{"hidden_size", d.hidden}, {"n_head", d.heads}, {"n_layer", d.layers},
              {"architectures", {"BloomForCausalLM"}}});
  } else if (t == "falcon") {
    j.update({{"hidden_size", d.hidden}, {"num_attention_heads", d.heads}, {"num_hidden_layers", d.layers},
              {"new_decoder_architecture", true}, {"num_kv_heads", d.kv_heads}, {"bias", false},
              {"architectures", {"FalconForCausalLM"}}});
  } else if (t == "opt") {
    j.update({{"hidden_size", d.hidden}, {"num_attention_heads", d.heads}, {"num_hidden_layers", d.layers},
              {"ffn_dim", d.intermediate}, {"max_position_embeddings", d.positions},
              {"word_embed_proj_dim", d.hidden}, {"architectures", {"OPTForCausalLM"}}});
  } else {
    j.update({{"hidden_size", d.hidden}, {"num_attention_heads", d.heads}, {"num_hidden_layers", d.layers},
              {"num_key_value_heads", *c.num_key_value_heads}, {"head_dim", *c.head_dim},
              {"intermediate_size", d.intermediate}, {"max_position_embeddings", d.positions}});
    if (t == "gpt_neox") j["rotary_pct"] = 1.0;
    if (t == "mixtral") j.update({{"num_local_experts", d.experts}, {"num_experts_per_tok", 2}});
    if (t == "qwen2_moe")
      j.update({{"num_experts", d.experts}, {"num_experts_per_tok", 2}, {"moe_intermediate_size", d.intermediate},
                {"shared_expert_intermediate_size", d.intermediate}});
  }
  return j.dump(2);
}

void write_tiny_model(const std::filesystem::path& dir, const std::string& t, const TinyDims& d, DType dtype) {
  std::filesystem::create_directories(dir);
  write_file(dir / "config.json", tiny_config_json(t, d));
  ModelConfig c = tiny_config(t, d);
  std::vector<TensorSpec> specs = tiny_specs(c, d);
  TinyCheckpoint ck = make_checkpoint(specs, dtype);
  std::vector<TensorData> data;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    TensorSpec spec = specs[i];
    spec.dtype = dtype;
    const TensorInfo& info = ck.tensors[i].info;
    data.push_back({spec, std::span<const std::byte>(ck.file.data() + info.offset, info.size)});
  }
  Status s = write_safetensors((dir / "model.safetensors").string(), data);
  if (!s) throw std::runtime_error(s.error().to_string());
}

}  // namespace hubload::testing
