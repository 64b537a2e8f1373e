// Tiny generated models of each tensor-parallel family for the plan and load
// tests: a ModelConfig built directly, the family's tensor names and shapes,
// a deterministic in-memory "file" holding their bytes, and writers for a model
// folder (config.json + model.safetensors).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "hubload/config.h"
#include "hubload/plan.h"
#include "hubload/safetensors.h"

namespace hubload::testing {

struct TinyDims {
  std::int64_t hidden = 32, heads = 8, kv_heads = 2, head_dim = 4, intermediate = 64, vocab = 50;
  std::int64_t layers = 2, experts = 2, positions = 16;
  bool tied = false;
  bool qkv_bias = false;  // Qwen2-style q/k/v biases (on by default for qwen2 via tiny_config)
};

// Families: llama mistral mixtral qwen2 qwen2_moe qwen3 gemma gemma2 phi3 gpt2
// gpt_neox falcon bloom opt.
std::vector<std::string> tiny_families();
ModelConfig tiny_config(const std::string& model_type, TinyDims dims);
std::vector<TensorSpec> tiny_specs(const ModelConfig& config, const TinyDims& dims);

// A single-file checkpoint in memory: tensors laid out from `data_offset` on, in
// spec order, each filled with distinct deterministic values.
struct TinyCheckpoint {
  std::vector<CheckpointTensor> tensors;
  std::vector<std::byte> file;  // the whole file image; tensor bytes at their offsets
};
TinyCheckpoint make_checkpoint(const std::vector<TensorSpec>& specs, DType dtype, std::uint32_t seed = 1,
                               std::uint64_t data_offset = 1024);
// Fills with value = index within the tensor (as F32 or BF16), so tests can read positions back.
TinyCheckpoint make_index_checkpoint(const std::vector<TensorSpec>& specs, DType dtype,
                                     std::uint64_t data_offset = 1024);

// Executes a rank plan against the in-memory file (plain memcpy of the runs,
// zero-fill of padding): the bytes a loader must produce.
std::vector<std::vector<std::byte>> apply_rank_plan(const RankPlan& plan, const std::vector<std::byte>& file);

// Inverse of the strategies, in index space (independent of the byte runs):
// rebuilds the full tensor from the ranks' slices, failing (empty result) when
// an element is missing or two ranks disagree about it.
std::vector<std::byte> reassemble(const TensorPlan& plan, const std::vector<std::vector<std::byte>>& rank_bytes);

// config.json text for the family (HF spelling).
std::string tiny_config_json(const std::string& model_type, const TinyDims& dims);
// Writes config.json and model.safetensors (tensors of `dtype`) into `dir`.
void write_tiny_model(const std::filesystem::path& dir, const std::string& model_type, const TinyDims& dims,
                      DType dtype);

// ---- Frontier layouts (tp_models_frontier.cpp) -------------------------------------
// The published tensor names, with shapes from `config` (a real config gives the real
// layout). DeepSeek-V2/V3/R1 and Kimi-K2: MLA (q_proj when q_lora_rank is null), the
// dense and MoE layers, the MTP layers after the main ones; with fp8 every quantized
// linear gets its 128x128 block weight_scale_inv (F32) and is F8_E4M3.
std::vector<TensorSpec> deepseek_specs(const ModelConfig& config, bool fp8);
// Llama-style names (Llama, Qwen2/3, Qwen3-MoE) with each linear layer in the
// config's quantized layout: FP8 block, AWQ or GPTQ (qweight/qzeros/scales[/g_idx]),
// compressed-tensors (weight_packed/weight_scale/weight_zero_point/weight_shape).
std::vector<TensorSpec> quantized_llama_specs(const ModelConfig& config);
// (tp_models_families.cpp) gpt-oss: MXFP4 experts (gate_up/down _blocks, _scales) when
// the config says mxfp4, else transformers' BF16 [E, in, out] experts; biases, sinks.
std::vector<TensorSpec> gpt_oss_specs(const ModelConfig& config);
// Llama-4 (language_model.*): dense and MoE layers as the config interleaves them, fused
// transposed experts (per-expert FP8 with channel scales when the config is quantized,
// as Maverick-FP8 publishes them); `vision`: a few vision_model / projector tensors.
std::vector<TensorSpec> llama4_specs(const ModelConfig& config, bool vision);
// Qwen3-Next: linear-attention and full-attention layers per layer_types, experts and
// the shared expert, and the MTP layer (mtp.*).
std::vector<TensorSpec> qwen3_next_specs(const ModelConfig& config);
// Kimi-K2 (testdata/kimi-k2-config.json): model_type kimi_k2 on DeepseekV3ForCausalLM.
ModelConfig kimi_k2_config();
// testdata/configs/<dir>/config.json, with num_hidden_layers cut to `layers` when given
// (so the tensor lists stay small); throws when it does not parse.
ModelConfig testdata_config(const std::string& dir, std::optional<std::int64_t> layers = std::nullopt);
// Header-only tensors: offsets back to back from 0, no data.
std::vector<CheckpointTensor> spec_tensors(const std::vector<TensorSpec>& specs);

}  // namespace hubload::testing
