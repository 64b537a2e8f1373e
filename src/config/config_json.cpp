#include "config/config_json.h"

namespace hubload::config_internal {
namespace {

template <class T>
nlohmann::json opt(const std::optional<T>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

}  // namespace

nlohmann::json to_json(const ModelConfig& c) {
  nlohmann::json j = {
      {"source", c.source},
      {"model_type", c.model_type},
      {"architectures", c.architectures},
      {"text_config_key", c.text_config_key},
      {"family", c.family},
      {"family_from_architecture", c.family_from_architecture.empty() ? nlohmann::json(nullptr)
                                                                      : nlohmann::json(c.family_from_architecture)},
      {"known_family", c.known_family},
      {"num_hidden_layers", opt(c.num_hidden_layers)},
      {"hidden_size", opt(c.hidden_size)},
      {"num_attention_heads", opt(c.num_attention_heads)},
      {"num_key_value_heads", opt(c.num_key_value_heads)},
      {"head_dim", opt(c.head_dim)},
      {"intermediate_size", opt(c.intermediate_size)},
      {"vocab_size", opt(c.vocab_size)},
      {"max_position_embeddings", opt(c.max_position_embeddings)},
      {"tie_word_embeddings", c.tie_word_embeddings},
      {"dtype", opt(c.dtype)},
      {"rope_theta", opt(c.rope_theta)},
      {"rope_scaling", nullptr},
      {"sliding_window", opt(c.sliding_window)},
      {"num_encoder_layers", opt(c.num_encoder_layers)},
      {"num_decoder_layers", opt(c.num_decoder_layers)},
      {"word_embed_proj_dim", opt(c.word_embed_proj_dim)},
      {"moe", nullptr},
      {"mla", nullptr},
      {"linear_attention", nullptr},
      {"quantization", nullptr},
      {"num_mtp_layers", c.num_mtp_layers},
      {"attention_sinks", c.attention_sinks},
      {"layer_types", c.layer_types},
      {"estimated_parameters", opt(c.estimated_parameters())},
      {"estimated_weight_bytes", opt(c.estimated_weight_bytes())},
      {"derivations", c.derivations},
      {"undetermined", c.undetermined},
  };
  if (!c.rope_scaling_json.empty()) {
    j["rope_scaling"] = nlohmann::json::parse(c.rope_scaling_json, nullptr, false);
  }
  if (c.moe) {
    j["moe"] = {{"num_experts", c.moe->num_experts},
                {"experts_per_token", opt(c.moe->experts_per_token)},
                {"expert_intermediate_size", opt(c.moe->expert_intermediate_size)},
                {"num_shared_experts", c.moe->num_shared_experts},
                {"shared_expert_intermediate_size", opt(c.moe->shared_expert_intermediate_size)},
                {"num_dense_layers", c.moe->num_dense_layers},
                {"layer_freq", c.moe->layer_freq},
                {"num_moe_layers", c.moe->moe_layer_count(c.num_hidden_layers.value_or(0))}};
  }
  if (c.linear_attention) {
    const LinearAttentionConfig& l = *c.linear_attention;
    j["linear_attention"] = {{"num_key_heads", l.num_key_heads},     {"num_value_heads", l.num_value_heads},
                             {"key_head_dim", l.key_head_dim},       {"value_head_dim", l.value_head_dim},
                             {"conv_kernel", l.conv_kernel},         {"full_attention_interval", l.full_attention_interval}};
  }
  if (c.quantization) {
    const QuantizationConfig& q = *c.quantization;
    j["quantization"] = {{"method", std::string(to_string(q.method))},
                         {"quant_method", q.method_name},
                         {"bits", opt(q.bits)},
                         {"group_size", opt(q.group_size)},
                         {"block_size", q.block_n ? nlohmann::json::array({*q.block_n, q.block_k.value_or(0)})
                                                  : nlohmann::json(nullptr)},
                         {"act_order", q.act_order},
                         {"strategy", q.strategy},
                         {"format", q.format},
                         {"modules_not_converted", q.modules_not_converted}};
  }
  if (c.mla) {
    j["mla"] = {{"q_lora_rank", opt(c.mla->q_lora_rank)},
                {"kv_lora_rank", c.mla->kv_lora_rank},
                {"qk_rope_head_dim", c.mla->qk_rope_head_dim},
                {"qk_nope_head_dim", c.mla->qk_nope_head_dim},
                {"v_head_dim", c.mla->v_head_dim}};
  }
  return j;
}

nlohmann::json to_json(const TpValidation& v) {
  nlohmann::json problems = nlohmann::json::array();
  for (const auto& p : v.problems) problems.push_back({{"field", p.field}, {"message", p.message}});
  return {{"tp", v.world_size},
          {"ok", v.ok()},
          {"problems", problems},
          {"notes", v.notes},
          {"heads_per_rank", opt(v.heads_per_rank)},
          {"kv_heads_per_rank", opt(v.kv_heads_per_rank)},
          {"kv_replication", v.kv_replication},
          {"padded_vocab", opt(v.padded_vocab)},
          {"vllm_padded_vocab", opt(v.vllm_padded_vocab)}};
}

}  // namespace hubload::config_internal

namespace hubload {

std::string config_to_json(const ModelConfig& config) { return config_internal::to_json(config).dump(); }
std::string validation_to_json(const TpValidation& validation) {
  return config_internal::to_json(validation).dump();
}

}  // namespace hubload
