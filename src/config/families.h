// Per-family key spellings and defaults, as transformers' configuration classes
// (attribute_map and __init__ defaults) define them.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "config/json_fields.h"
#include "hubload/config.h"

namespace hubload::config_internal {

enum class MlpKind { gated, plain };  // gated: gate+up+down (3 matrices); plain: up+down

struct Family {
  std::string_view name;
  bool tie_default;          // tie_word_embeddings when the file has no such key
  MlpKind mlp;
  bool learned_positions;    // a position-embedding table of max_position_embeddings rows
  // Reads the family's own spellings after the standard keys were read; may fill
  // or override fields and records what it derived in config.derivations.
  Status (*read)(const FieldReader& r, ModelConfig& config);
};

// nullptr for a model_type hubload has no rules for.
const Family* find_family(std::string_view model_type);
// The family a transformers architecture class belongs to ("DeepseekV3ForCausalLM"
// -> deepseek_v3), for configs whose model_type is a custom one (kimi_k2).
const Family* family_for_architecture(std::string_view architecture);

// quantization_config at the top level (quantization.cpp).
Status read_quantization(const FieldReader& top, ModelConfig& config);

// The standard (Llama-style) keys every family shares.
Status read_standard_keys(const FieldReader& r, ModelConfig& config);

// Sets a field the config left empty and records `what` was derived.
template <class T>
void fill(std::optional<T>& field, T value, ModelConfig& c, std::string what) {
  if (field) return;
  field = value;
  c.derivations.push_back(std::move(what));
}

}  // namespace hubload::config_internal

namespace hubload::config_internal {

// Family readers (families_modern.cpp, families_legacy.cpp).
Status read_llama(const FieldReader& r, ModelConfig& c);
Status read_llama_like(const FieldReader& r, ModelConfig& c);
Status read_local_experts(const FieldReader& r, ModelConfig& c);
Status read_qwen_moe(const FieldReader& r, ModelConfig& c);
Status read_deepseek(const FieldReader& r, ModelConfig& c);
Status read_gpt_oss(const FieldReader& r, ModelConfig& c);
Status read_llama4_text(const FieldReader& r, ModelConfig& c);
Status read_qwen3_next(const FieldReader& r, ModelConfig& c);
Status read_nemotron_nas(const FieldReader& r, ModelConfig& c);
Status read_gpt2(const FieldReader& r, ModelConfig& c);
Status read_bloom(const FieldReader& r, ModelConfig& c);
Status read_falcon(const FieldReader& r, ModelConfig& c);
Status read_refined_web(const FieldReader& r, ModelConfig& c);
Status read_opt(const FieldReader& r, ModelConfig& c);
Status read_t5(const FieldReader& r, ModelConfig& c);
Status read_chatglm(const FieldReader& r, ModelConfig& c);
Status read_qwen_v1(const FieldReader& r, ModelConfig& c);

}  // namespace hubload::config_internal
