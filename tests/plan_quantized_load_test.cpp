// Tiny checkpoints with the real tensor names of the frontier layouts (DeepSeek MLA +
// MoE + MTP in BF16 and FP8 block, GPTQ with act-order, AWQ, compressed-tensors,
// Qwen3-MoE in FP8 block), written to disk, planned for every W up to 8 and loaded rank
// by rank: the ranks' bytes rebuild every tensor bit for bit (scales and packed weights
// carried unchanged), replicated tensors are whole on every rank, and each refused W is
// an invalid_plan before any read.
#include <gtest/gtest.h>

#include "hubload/load.h"
#include "hubload/plan.h"
#include "support/test_support.h"
#include "support/tp_models.h"
#include "support/tp_reassembly.h"

namespace hubload {
namespace {

// hidden 256, 8 heads of qk 64+64 and v 64, latent ranks 256/128, experts of width
// 256: FP8 128-blocks allow W 1, 2 (down_proj: 256 / 4 = 64 columns breaks at 4).
const char* kTinyDeepSeek = R"({"architectures": ["DeepseekV3ForCausalLM"], "model_type": "deepseek_v3",
  "hidden_size": 256, "intermediate_size": 512, "moe_intermediate_size": 256, "num_hidden_layers": 2,
  "num_attention_heads": 8, "num_key_value_heads": 8, "n_routed_experts": 4, "n_shared_experts": 1,
  "num_experts_per_tok": 2, "first_k_dense_replace": 1, "moe_layer_freq": 1, "kv_lora_rank": 128,
  "q_lora_rank": 256, "qk_nope_head_dim": 64, "qk_rope_head_dim": 64, "v_head_dim": 64,
  "num_nextn_predict_layers": 1, "vocab_size": 256, "tie_word_embeddings": false, "torch_dtype": "bfloat16" %QUANT%})";

std::string with_quant(const std::string& config, const std::string& quant) {
  std::string out = config;
  out.replace(out.find("%QUANT%"), 7, quant.empty() ? "" : ", \"quantization_config\": " + quant);
  return out;
}

using testing::check_every_w;
using testing::write_model;
using testing::Written;

std::vector<TensorSpec> deepseek(const ModelConfig& c) { return testing::deepseek_specs(c, c.quantization.has_value()); }

TEST(PlanQuantizedLoad, DeepSeekBf16RebuildsForEveryW) {
  testing::TempDir tmp;
  Written m = write_model(tmp / "ds", with_quant(kTinyDeepSeek, ""), deepseek);
  EXPECT_EQ(check_every_w(tmp / "ds", m), (std::vector<int>{1, 2, 4, 8}));
}

TEST(PlanQuantizedLoad, DeepSeekFp8BlockScalesFollowTheirWeights) {
  testing::TempDir tmp;
  const std::string quant = R"({"quant_method": "fp8", "fmt": "e4m3", "weight_block_size": [128, 128]})";
  Written m = write_model(tmp / "ds", with_quant(kTinyDeepSeek, quant), deepseek);
  EXPECT_EQ(check_every_w(tmp / "ds", m), (std::vector<int>{1, 2}));
  // Expert parallelism keeps experts whole; the shared expert (256 / 4 = 64 rows) still breaks at 4.
  EXPECT_EQ(check_every_w(tmp / "ds", m, true), (std::vector<int>{1, 2}));

  // A dtype conversion would turn the F32 block scales into something else: refused, by name.
  PlanOptions o;
  auto plan = plan_model_folder((tmp / "ds").string(), o);
  ASSERT_TRUE(plan.has_value());
  LoadOptions lo;
  lo.convert_to = DType::BF16;
  auto loader = RankLoader::create((tmp / "ds").string(), lo);
  ASSERT_TRUE(loader.has_value());
  auto loaded = loader->load(*rank_plan(*plan, 0));
  ASSERT_FALSE(loaded.has_value());
  EXPECT_NE(loaded.error().message().find("cannot apply to quantized tensor 'model.layers.0.self_attn.q_a_proj.weight'"),
            std::string::npos)
      << loaded.error().message();
}

// A Llama with hidden 256, 4 heads of 64, 2 KV heads, MLP 512, in 4-bit groups of 64.
const char* kTinyLlama = R"({"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 256,
  "intermediate_size": 512, "num_attention_heads": 4, "num_key_value_heads": 2, "num_hidden_layers": 1,
  "vocab_size": 128, "tie_word_embeddings": false, "torch_dtype": "float16", "quantization_config": %Q%})";

std::string llama(const std::string& quant) {
  std::string out = kTinyLlama;
  out.replace(out.find("%Q%"), 3, quant);
  return out;
}

TEST(PlanQuantizedLoad, GptqActOrderAndAwqRebuildForEveryW) {
  testing::TempDir tmp;
  Written g = write_model(tmp / "gptq", llama(R"({"quant_method": "gptq", "bits": 4, "group_size": 64,
                                                   "desc_act": true})"), testing::quantized_llama_specs);
  // 4 heads bound W at 4; act-order row layers keep their whole scales on every rank.
  EXPECT_EQ(check_every_w(tmp / "gptq", g), (std::vector<int>{1, 2, 4}));
  Written a = write_model(tmp / "awq", llama(R"({"quant_method": "awq", "bits": 4, "group_size": 64,
                                                  "zero_point": true})"), testing::quantized_llama_specs);
  EXPECT_EQ(check_every_w(tmp / "awq", a), (std::vector<int>{1, 2, 4}));
}

TEST(PlanQuantizedLoad, CompressedTensorsPackedGroupsRebuildForEveryW) {
  testing::TempDir tmp;
  Written m = write_model(tmp / "ct", llama(R"({"quant_method": "compressed-tensors", "format": "pack-quantized",
      "config_groups": {"group_0": {"targets": ["Linear"], "weights": {"num_bits": 4, "type": "int",
      "symmetric": false, "strategy": "group", "group_size": 32, "actorder": null}}}, "ignore": ["lm_head"]})"),
                          testing::quantized_llama_specs);
  ASSERT_TRUE(m.file.data.contains("model.layers.0.self_attn.k_proj.weight_zero_point"));
  // 4 heads bound W at 4; 256 / 4 = 64 input columns keep whole groups of 32 and packs of 8.
  EXPECT_EQ(check_every_w(tmp / "ct", m), (std::vector<int>{1, 2, 4}));
  testing::python_reassembly(tmp / "ct", 4);
}

// Qwen3-MoE in FP8 128-blocks, shaped like Qwen3-30B-A3B-FP8: experts 768 wide, so
// W = 4 gives 192 rows (not whole blocks) and only expert parallelism goes past 2.
TEST(PlanQuantizedLoad, Qwen3MoeFp8BlockScalesRebuildAndExpertParallelGoesFurther) {
  testing::TempDir tmp;
  Written m = write_model(tmp / "q3", R"({"architectures": ["Qwen3MoeForCausalLM"], "model_type": "qwen3_moe",
      "hidden_size": 128, "intermediate_size": 1024, "moe_intermediate_size": 768, "num_experts": 8,
      "num_experts_per_tok": 2, "num_attention_heads": 8, "num_key_value_heads": 2, "head_dim": 128,
      "num_hidden_layers": 1, "vocab_size": 128, "tie_word_embeddings": false, "torch_dtype": "bfloat16",
      "quantization_config": {"quant_method": "fp8", "fmt": "e4m3", "weight_block_size": [128, 128],
                              "activation_scheme": "dynamic"}})",
                          testing::quantized_llama_specs);
  ASSERT_TRUE(m.file.data.contains("model.layers.0.mlp.experts.3.down_proj.weight_scale_inv"));
  EXPECT_EQ(check_every_w(tmp / "q3", m), (std::vector<int>{1, 2}));
  EXPECT_EQ(check_every_w(tmp / "q3", m, true), (std::vector<int>{1, 2, 4, 8}));
  testing::python_reassembly(tmp / "q3", 2);
}

}  // namespace
}  // namespace hubload
