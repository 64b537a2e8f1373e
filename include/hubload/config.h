// ModelConfig: a typed view of a Hugging Face config.json, as transformers'
// AutoConfig reads it (per-family key spellings and defaults), and the
// tensor-parallel validation of a model for world size W.
// See ../shared/docs/tensor-parallel.md §6 and §13.
#pragma once
#pragma GCC visibility push(default)  // public API: exported by the shared libraries (see CMake)

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hubload/error.h"

namespace hubload {

struct MoeConfig {
  std::int64_t num_experts = 0;                      // routed experts
  std::optional<std::int64_t> experts_per_token;     // top-k
  std::optional<std::int64_t> expert_intermediate_size;
  std::int64_t num_shared_experts = 0;
  std::optional<std::int64_t> shared_expert_intermediate_size;  // all shared experts together
  std::int64_t num_dense_layers = 0;  // leading dense-MLP layers (DeepSeek first_k_dense_replace)
  // Which of the remaining layers are MoE: DeepSeek's moe_layer_freq (idx % freq == 0),
  // Llama-4's interleave_moe_layer_step ((idx + 1) % step == 0); 1 = every layer.
  std::int64_t layer_freq = 1;
  bool freq_counts_from_one = false;  // Llama-4 style: (idx + 1) % step
  bool is_moe_layer(std::int64_t layer) const;
  std::int64_t moe_layer_count(std::int64_t layers) const;
};

// Hybrid linear attention (Qwen3-Next Gated DeltaNet layers).
struct LinearAttentionConfig {
  std::int64_t num_key_heads = 0;
  std::int64_t num_value_heads = 0;
  std::int64_t key_head_dim = 0;
  std::int64_t value_head_dim = 0;
  std::int64_t conv_kernel = 0;
  std::int64_t full_attention_interval = 0;  // every N-th layer is full attention
};

enum class QuantMethod : std::uint8_t { fp8, awq, gptq, compressed_tensors, mxfp4, bitsandbytes, other };
std::string_view to_string(QuantMethod m);

// quantization_config, typed: how the checkpoint's quantized tensors are laid out.
struct QuantizationConfig {
  QuantMethod method = QuantMethod::other;
  std::string method_name;                 // quant_method as written ("fbgemm_fp8")
  std::optional<std::int64_t> bits;        // 4, 8
  std::optional<std::int64_t> group_size;  // -1 (per channel) is kept as written
  std::optional<std::int64_t> block_n, block_k;  // FP8 weight_block_size [n, k]
  bool act_order = false;                  // GPTQ desc_act / compressed-tensors actorder
  std::string strategy;                    // compressed-tensors weights strategy: tensor, channel, group, block
  std::string format;                      // compressed-tensors format ("pack-quantized")
  std::vector<std::string> modules_not_converted;  // modules_to_not_convert / ignore
  // Bytes per weight as stored (FP8 1, 4-bit 0.5), scales excluded.
  double weight_bytes() const;
};

// Multi-head latent attention (DeepSeek-V2/V3).
struct MlaConfig {
  std::optional<std::int64_t> q_lora_rank;  // null in V2-Lite
  std::int64_t kv_lora_rank = 0;
  std::int64_t qk_rope_head_dim = 0;
  std::int64_t qk_nope_head_dim = 0;
  std::int64_t v_head_dim = 0;
};

struct ModelConfig {
  std::string source;  // the config.json path, for messages
  std::string model_type;
  std::vector<std::string> architectures;
  // Set when the language model sits under a sub-config ("text_config", "llm_config").
  std::string text_config_key;

  std::optional<std::int64_t> num_hidden_layers;
  std::optional<std::int64_t> hidden_size;
  std::optional<std::int64_t> num_attention_heads;
  std::optional<std::int64_t> num_key_value_heads;  // defaulted to heads; 1 for MQA
  std::optional<std::int64_t> head_dim;             // defaulted to hidden / heads
  std::optional<std::int64_t> intermediate_size;
  std::optional<std::int64_t> vocab_size;
  std::optional<std::int64_t> max_position_embeddings;
  bool tie_word_embeddings = false;                 // the family's default when absent
  std::optional<std::string> dtype;                 // "bfloat16", from torch_dtype or dtype

  std::optional<double> rope_theta;
  std::string rope_scaling_json;                    // raw JSON text, "" when absent

  std::optional<MoeConfig> moe;
  std::optional<MlaConfig> mla;
  std::optional<LinearAttentionConfig> linear_attention;
  std::optional<QuantizationConfig> quantization;
  std::int64_t num_mtp_layers = 0;    // DeepSeek num_nextn_predict_layers: extra layers after the main ones
  bool attention_sinks = false;       // gpt-oss: a learned sink logit per head
  // Per-layer attention kind when the config lists it ("sliding_attention", "full_attention",
  // "linear_attention"); empty when every layer is alike.
  std::vector<std::string> layer_types;
  std::optional<std::int64_t> sliding_window;
  std::optional<std::int64_t> num_encoder_layers;   // encoder-decoder models (T5)
  std::optional<std::int64_t> num_decoder_layers;
  std::optional<std::int64_t> word_embed_proj_dim;  // OPT: embeddings narrower than hidden

  // Whether model_type (or the text sub-config's) has family rules in hubload;
  // false means only the standard keys were read and nothing was defaulted.
  bool known_family = false;
  std::string family;  // the model_type whose rules applied (the text config's for wrappers)
  // Set when model_type is unknown and the family came from `architectures`
  // ("DeepseekV3ForCausalLM" for kimi_k2): that architecture name.
  std::string family_from_architecture;
  // How the family's rules filled fields the file leaves out ("num_key_value_heads = 1
  // (multi_query)"), so a reader can tell read values from derived ones.
  std::vector<std::string> derivations;

  // Standard fields that neither the file nor the family's rules determine.
  std::vector<std::string> undetermined;

  std::string raw_json;  // the whole file, for anything not typed above

  // Raw access by JSON pointer ("/rope_scaling/factor"): the value as JSON text.
  std::optional<std::string> raw(std::string_view json_pointer) const;
  // Parameter estimate from the config alone (embeddings, attention, MLP/experts, norms).
  std::optional<std::int64_t> estimated_parameters() const;
  // Bytes of the weights as stored: quantized layers at their width, the modules the
  // quantization leaves out (embeddings, head, routers) at dtype; scales excluded.
  std::optional<std::int64_t> estimated_weight_bytes() const;
};

// `path` is a config.json or a folder holding one.
Result<ModelConfig> load_model_config(const std::string& path);
Result<ModelConfig> parse_model_config(std::string_view json_text, std::string_view source);

struct TpProblem {
  std::string field;    // "num_attention_heads"
  std::string message;  // "num_attention_heads 28 is not divisible by tp 8"
};

struct TpValidation {
  int world_size = 1;
  std::vector<TpProblem> problems;  // every problem at once; empty means valid
  std::vector<std::string> notes;   // stated facts, not errors (vocab padding, KV replication)
  std::optional<std::int64_t> heads_per_rank;
  std::optional<std::int64_t> kv_heads_per_rank;
  std::int64_t kv_replication = 1;  // >1 when W is a multiple of the KV heads
  std::optional<std::int64_t> padded_vocab;       // to a multiple of W
  std::optional<std::int64_t> vllm_padded_vocab;  // to a multiple of lcm(64, W)
  bool ok() const { return problems.empty(); }
};

// Pure. world_size < 1 is reported as a problem, not a crash.
TpValidation validate_tensor_parallel(const ModelConfig& config, int world_size);

// The documents `hubload config --json` prints (its "tensor_parallel" member for
// the second), for bindings and scripts that want every field without a schema
// of their own.
std::string config_to_json(const ModelConfig& config);
std::string validation_to_json(const TpValidation& validation);

}  // namespace hubload
#pragma GCC visibility pop
