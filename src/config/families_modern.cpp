// Llama-style families: the standard keys, plus MoE, MLA and per-layer variants.
#include <set>

#include "config/families.h"

namespace hubload::config_internal {
namespace {

// The routed experts and their top-k, where every MoE reader starts; none when
// `experts_key` is absent (a dense model).
Result<std::optional<MoeConfig>> routed_experts(const FieldReader& r, std::string_view experts_key,
                                                std::initializer_list<std::string_view> top_k_keys) {
  HUBLOAD_ASSIGN_OR_RETURN(auto experts, r.size({experts_key}));
  if (!experts) return std::optional<MoeConfig>{};
  MoeConfig m;
  m.num_experts = *experts;
  HUBLOAD_ASSIGN_OR_RETURN(m.experts_per_token, r.size(top_k_keys));
  return std::optional<MoeConfig>{m};
}

}  // namespace

Status read_llama_like(const FieldReader&, ModelConfig&) { return ok(); }

// LlamaConfig's __init__ defaults; a minimal text_config (LLaVA) relies on them.
Status read_llama(const FieldReader&, ModelConfig& c) {
  fill<std::int64_t>(c.num_hidden_layers, 32, c, "num_hidden_layers = 32 (LlamaConfig default)");
  fill<std::int64_t>(c.hidden_size, 4096, c, "hidden_size = 4096 (LlamaConfig default)");
  fill<std::int64_t>(c.num_attention_heads, 32, c, "num_attention_heads = 32 (LlamaConfig default)");
  fill<std::int64_t>(c.intermediate_size, 11008, c, "intermediate_size = 11008 (LlamaConfig default)");
  fill<std::int64_t>(c.vocab_size, 32000, c, "vocab_size = 32000 (LlamaConfig default)");
  fill<std::int64_t>(c.max_position_embeddings, 2048, c, "max_position_embeddings = 2048 (LlamaConfig default)");
  return ok();
}

// Mixtral and gpt-oss: every layer is MoE; each expert is an MLP of
// intermediate_size (gpt-oss also spells top-k experts_per_token).
Status read_local_experts(const FieldReader& r, ModelConfig& c) {
  HUBLOAD_ASSIGN_OR_RETURN(auto moe,
                           routed_experts(r, "num_local_experts", {"num_experts_per_tok", "experts_per_token"}));
  if (!moe) return ok();
  moe->expert_intermediate_size = c.intermediate_size;
  c.moe = moe;
  return ok();
}

// Qwen2-MoE / Qwen3-MoE: num_experts of moe_intermediate_size; Qwen2-MoE adds one
// gated shared expert of shared_expert_intermediate_size.
Status read_qwen_moe(const FieldReader& r, ModelConfig& c) {
  HUBLOAD_ASSIGN_OR_RETURN(auto moe, routed_experts(r, "num_experts", {"num_experts_per_tok"}));
  if (!moe) return ok();
  MoeConfig& m = *moe;
  HUBLOAD_ASSIGN_OR_RETURN(m.expert_intermediate_size, r.size({"moe_intermediate_size"}));
  HUBLOAD_ASSIGN_OR_RETURN(auto shared, r.count({"shared_expert_intermediate_size"}));
  if (shared && *shared > 0) {
    m.num_shared_experts = 1;
    m.shared_expert_intermediate_size = shared;
  }
  c.moe = m;
  return ok();
}

// DeepSeek-V2/V3: multi-head latent attention, n_routed_experts + n_shared_experts
// of moe_intermediate_size, the first first_k_dense_replace layers dense.
Status read_deepseek(const FieldReader& r, ModelConfig& c) {
  HUBLOAD_ASSIGN_OR_RETURN(auto kv_lora, r.size({"kv_lora_rank"}));
  if (kv_lora) {
    MlaConfig a;
    a.kv_lora_rank = *kv_lora;
    HUBLOAD_ASSIGN_OR_RETURN(a.q_lora_rank, r.size({"q_lora_rank"}));
    HUBLOAD_ASSIGN_OR_RETURN(auto rope, r.size({"qk_rope_head_dim"}));
    HUBLOAD_ASSIGN_OR_RETURN(auto nope, r.size({"qk_nope_head_dim"}));
    HUBLOAD_ASSIGN_OR_RETURN(auto v, r.size({"v_head_dim"}));
    if (!rope || !nope || !v) {
      return invalid_input(r.where("kv_lora_rank") +
                           " is set but qk_rope_head_dim, qk_nope_head_dim or v_head_dim is missing");
    }
    a.qk_rope_head_dim = *rope;
    a.qk_nope_head_dim = *nope;
    a.v_head_dim = *v;
    c.mla = a;
    // The query/key head is nope + rope wide; the latent KV is shared, so the head
    // count that tensor parallelism splits is the query heads.
    fill<std::int64_t>(c.head_dim, *nope + *rope, c, "head_dim = qk_nope_head_dim + qk_rope_head_dim");
  }
  HUBLOAD_ASSIGN_OR_RETURN(auto moe, routed_experts(r, "n_routed_experts", {"num_experts_per_tok"}));
  if (moe) {
    MoeConfig& m = *moe;
    HUBLOAD_ASSIGN_OR_RETURN(m.expert_intermediate_size, r.size({"moe_intermediate_size"}));
    HUBLOAD_ASSIGN_OR_RETURN(auto shared, r.count({"n_shared_experts"}));
    m.num_shared_experts = shared.value_or(0);
    if (m.num_shared_experts > 0 && m.expert_intermediate_size) {
      m.shared_expert_intermediate_size = m.num_shared_experts * *m.expert_intermediate_size;
    }
    HUBLOAD_ASSIGN_OR_RETURN(auto dense, r.count({"first_k_dense_replace"}));
    m.num_dense_layers = dense.value_or(0);
    HUBLOAD_ASSIGN_OR_RETURN(auto freq, r.size({"moe_layer_freq"}));
    m.layer_freq = freq.value_or(1);
    c.moe = m;
  }
  // Multi-token prediction: whole extra decoder layers numbered after the main ones.
  HUBLOAD_ASSIGN_OR_RETURN(auto mtp, r.count({"num_nextn_predict_layers"}));
  c.num_mtp_layers = mtp.value_or(0);
  return ok();
}

// The per-layer attention kinds, as listed.
Status read_layer_types(const FieldReader& r, ModelConfig& c) {
  const nlohmann::json* types = r.find({"layer_types"});
  if (!types) return ok();
  if (!types->is_array()) return invalid_input(r.where("layer_types") + " must be an array of strings");
  for (const auto& t : *types) {
    if (!t.is_string()) return invalid_input(r.where("layer_types") + " must be an array of strings");
    c.layer_types.push_back(t.get<std::string>());
  }
  return ok();
}

// gpt-oss: Mixtral-style experts, a sink logit per head, sliding and full
// attention layers alternating (layer_types).
Status read_gpt_oss(const FieldReader& r, ModelConfig& c) {
  HUBLOAD_TRY(read_local_experts(r, c));
  c.attention_sinks = true;
  return read_layer_types(r, c);
}

// Llama-4 text model: intermediate_size is the experts' (and the shared expert's)
// width, intermediate_size_mlp the dense layers'; every interleave_moe_layer_step-th
// layer is MoE.
Status read_llama4_text(const FieldReader& r, ModelConfig& c) {
  HUBLOAD_ASSIGN_OR_RETURN(auto dense, r.size({"intermediate_size_mlp"}));
  HUBLOAD_ASSIGN_OR_RETURN(auto moe, routed_experts(r, "num_local_experts", {"num_experts_per_tok"}));
  if (!moe) return ok();
  MoeConfig& m = *moe;
  m.expert_intermediate_size = c.intermediate_size;
  m.num_shared_experts = 1;
  m.shared_expert_intermediate_size = c.intermediate_size;
  HUBLOAD_ASSIGN_OR_RETURN(auto step, r.size({"interleave_moe_layer_step"}));
  m.layer_freq = step.value_or(1);
  m.freq_counts_from_one = true;
  c.moe = m;
  if (dense) {
    c.intermediate_size = dense;
    c.derivations.push_back("intermediate_size = intermediate_size_mlp (dense layers; experts use intermediate_size)");
  }
  return ok();
}

// Qwen3-Next: Qwen3-MoE experts plus a shared expert; Gated DeltaNet linear
// attention in every layer but each full_attention_interval-th.
Status read_qwen3_next(const FieldReader& r, ModelConfig& c) {
  HUBLOAD_TRY(read_qwen_moe(r, c));
  HUBLOAD_TRY(read_layer_types(r, c));
  HUBLOAD_ASSIGN_OR_RETURN(auto kh, r.size({"linear_num_key_heads"}));
  if (!kh) return ok();
  LinearAttentionConfig l;
  l.num_key_heads = *kh;
  HUBLOAD_ASSIGN_OR_RETURN(auto vh, r.size({"linear_num_value_heads"}));
  HUBLOAD_ASSIGN_OR_RETURN(auto kd, r.size({"linear_key_head_dim"}));
  HUBLOAD_ASSIGN_OR_RETURN(auto vd, r.size({"linear_value_head_dim"}));
  HUBLOAD_ASSIGN_OR_RETURN(auto conv, r.size({"linear_conv_kernel_dim"}));
  HUBLOAD_ASSIGN_OR_RETURN(auto interval, r.size({"full_attention_interval"}));
  if (!vh || !kd || !vd)
    return invalid_input(r.where("linear_num_key_heads") +
                         " is set but linear_num_value_heads, linear_key_head_dim or linear_value_head_dim is missing");
  l.num_value_heads = *vh;
  l.key_head_dim = *kd;
  l.value_head_dim = *vd;
  l.conv_kernel = conv.value_or(4);
  l.full_attention_interval = interval.value_or(4);
  c.linear_attention = l;
  if (c.layer_types.empty() && c.num_hidden_layers) {
    for (std::int64_t i = 0; i < *c.num_hidden_layers; ++i)
      c.layer_types.push_back((i + 1) % l.full_attention_interval == 0 ? "full_attention" : "linear_attention");
    c.derivations.push_back("layer_types: every " + std::to_string(l.full_attention_interval) +
                            "th layer full attention, the rest linear (full_attention_interval)");
  }
  return ok();
}

// DeciLM / Nemotron-NAS: per-layer block_configs. KV heads follow from
// n_heads_in_group when every attention layer uses the same one; the MLP width
// varies per layer, so intermediate_size stays undetermined.
Status read_nemotron_nas(const FieldReader& r, ModelConfig& c) {
  const nlohmann::json* blocks = r.find({"block_configs"});
  if (!blocks) return ok();
  if (!blocks->is_array()) return invalid_input(r.where("block_configs") + " must be an array");
  std::set<std::int64_t> groups;
  for (const auto& b : *blocks) {
    if (!b.is_object()) return invalid_input(r.where("block_configs") + " entries must be objects");
    auto a = b.find("attention");
    if (a == b.end() || !a->is_object()) continue;
    auto no_op = a->find("no_op");
    if (no_op != a->end() && no_op->is_boolean() && no_op->get<bool>()) continue;
    auto g = a->find("n_heads_in_group");
    if (g == a->end() || g->is_null()) continue;
    if (!g->is_number_integer() || g->get<std::int64_t>() <= 0) {
      return invalid_input(r.where("block_configs[].attention.n_heads_in_group") + " must be a positive integer");
    }
    groups.insert(g->get<std::int64_t>());
  }
  if (groups.size() == 1 && c.num_attention_heads && *c.num_attention_heads % *groups.begin() == 0) {
    fill<std::int64_t>(c.num_key_value_heads, *c.num_attention_heads / *groups.begin(), c,
                       "num_key_value_heads = num_attention_heads / block_configs n_heads_in_group " +
                           std::to_string(*groups.begin()));
  } else if (!c.num_key_value_heads) {
    c.undetermined.push_back("num_key_value_heads");  // not the MHA default: varies per layer
  }
  return ok();
}

}  // namespace hubload::config_internal
