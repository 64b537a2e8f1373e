// gpt-oss (BF16 and MXFP4), Llama-4 (with its vision tower) and Qwen3-Next as tiny
// checkpoints with the published tensor names, written to disk, planned for every W up
// to 8 and loaded rank by rank: every tensor re-assembles bit for bit, replicated ones
// are whole everywhere and gpt-oss's down_proj_bias is on rank 0 alone.
#include <gtest/gtest.h>

#include "hubload/plan.h"
#include "support/test_support.h"
#include "support/tp_models.h"
#include "support/tp_reassembly.h"

namespace hubload {
namespace {

using testing::check_every_w;
using testing::write_model;
using testing::Written;

// 8 heads of 8, 2 KV heads, hidden 64 (two MXFP4 blocks), experts 480 wide: 15 blocks
// of 32, so W = 4 and 8 split them unevenly (4+4+4+3, 2+...+2+1 blocks).
const char* kTinyGptOss = R"({"architectures": ["GptOssForCausalLM"], "model_type": "gpt_oss", "hidden_size": 64,
  "intermediate_size": 480, "num_attention_heads": 8, "num_key_value_heads": 2, "head_dim": 8,
  "num_hidden_layers": 2, "num_local_experts": 4, "num_experts_per_tok": 2, "experts_per_token": 2,
  "vocab_size": 128, "layer_types": ["sliding_attention", "full_attention"], "sliding_window": 4,
  "attention_bias": true, "tie_word_embeddings": false, "torch_dtype": "bfloat16" %Q%})";

std::string gpt_oss(const std::string& quant) {
  std::string out = kTinyGptOss;
  out.replace(out.find("%Q%"), 3, quant.empty() ? "" : ", \"quantization_config\": " + quant);
  return out;
}

// Layer 0 dense (intermediate_size_mlp 64), layer 1 MoE (4 experts of 32, one shared expert).
const char* kTinyLlama4 = R"({"architectures": ["Llama4ForConditionalGeneration"], "model_type": "llama4",
  "text_config": {"model_type": "llama4_text", "hidden_size": 64, "intermediate_size": 32,
    "intermediate_size_mlp": 64, "num_attention_heads": 8, "num_key_value_heads": 2, "head_dim": 8,
    "num_hidden_layers": 2, "num_local_experts": 4, "num_experts_per_tok": 1, "interleave_moe_layer_step": 2,
    "vocab_size": 128, "tie_word_embeddings": false},
  "vision_config": {"model_type": "llama4_vision_model", "hidden_size": 32}, "torch_dtype": "bfloat16"})";

// Layer 0 linear attention (8 key heads, 16 value heads of 4), layer 1 full attention.
const char* kTinyQwen3Next = R"({"architectures": ["Qwen3NextForCausalLM"], "model_type": "qwen3_next",
  "hidden_size": 64, "intermediate_size": 64, "moe_intermediate_size": 32, "shared_expert_intermediate_size": 32,
  "num_experts": 4, "num_experts_per_tok": 2, "decoder_sparse_step": 1, "mlp_only_layers": [],
  "num_attention_heads": 8, "num_key_value_heads": 2, "head_dim": 8, "num_hidden_layers": 2,
  "full_attention_interval": 2, "linear_num_key_heads": 8, "linear_num_value_heads": 16,
  "linear_key_head_dim": 4, "linear_value_head_dim": 4, "linear_conv_kernel_dim": 4,
  "vocab_size": 128, "tie_word_embeddings": false, "torch_dtype": "bfloat16"})";

std::vector<TensorSpec> llama4_with_vision(const ModelConfig& c) { return testing::llama4_specs(c, true); }

TEST(PlanFamiliesLoad, GptOssBf16RebuildsForEveryW) {
  testing::TempDir tmp;
  Written m = write_model(tmp / "oss", gpt_oss(""), testing::gpt_oss_specs);
  ASSERT_TRUE(m.file.data.contains("model.layers.1.mlp.experts.gate_up_proj"));
  EXPECT_EQ(check_every_w(tmp / "oss", m), (std::vector<int>{1, 2, 4, 8}));
  EXPECT_EQ(check_every_w(tmp / "oss", m, true), (std::vector<int>{1, 2, 4, 8}));
}

TEST(PlanFamiliesLoad, GptOssMxfp4RebuildsForEveryW) {
  testing::TempDir tmp;
  Written m = write_model(tmp / "oss", gpt_oss(R"({"quant_method": "mxfp4", "modules_to_not_convert":
      ["model.layers.*.self_attn", "model.layers.*.mlp.router", "model.embed_tokens", "lm_head"]})"),
                          testing::gpt_oss_specs);
  ASSERT_TRUE(m.file.data.contains("model.layers.1.mlp.experts.down_proj_blocks"));
  EXPECT_EQ(check_every_w(tmp / "oss", m), (std::vector<int>{1, 2, 4, 8}));
  EXPECT_EQ(check_every_w(tmp / "oss", m, true), (std::vector<int>{1, 2, 4, 8}));
}

TEST(PlanFamiliesLoad, Llama4WithItsVisionTowerRebuildsForEveryW) {
  testing::TempDir tmp;
  Written m = write_model(tmp / "l4", kTinyLlama4, llama4_with_vision);
  ASSERT_TRUE(m.file.data.contains("language_model.model.layers.1.feed_forward.experts.gate_up_proj"));
  ASSERT_TRUE(m.file.data.contains("language_model.model.layers.0.feed_forward.down_proj.weight"));
  EXPECT_EQ(check_every_w(tmp / "l4", m), (std::vector<int>{1, 2, 4, 8}));
  EXPECT_EQ(check_every_w(tmp / "l4", m, true), (std::vector<int>{1, 2, 4, 8}));
}

TEST(PlanFamiliesLoad, Qwen3NextRebuildsForEveryW) {
  testing::TempDir tmp;
  Written m = write_model(tmp / "qn", kTinyQwen3Next, testing::qwen3_next_specs);
  ASSERT_TRUE(m.file.data.contains("model.layers.0.linear_attn.conv1d.weight"));
  ASSERT_TRUE(m.file.data.contains("mtp.layers.0.self_attn.q_proj.weight"));
  EXPECT_EQ(check_every_w(tmp / "qn", m), (std::vector<int>{1, 2, 4, 8}));
}

// scripts/check-reassembly.py re-assembles the rank files `hubload load --out` writes,
// on its own (plain Python, no hubload code): the uneven MXFP4 blocks, the rank-0-only
// bias, Llama-4's two-block gate_up and Qwen3-Next's conv1d sections included.
TEST(PlanFamiliesLoad, TheIndependentPythonReassemblyAgrees) {
  testing::TempDir tmp;
  struct Case {
    const char* name;
    std::string config;
    testing::SpecsOf specs;
    int w;
    const char* rank0_only;
  };
  const std::string mxfp4 = gpt_oss(R"({"quant_method": "mxfp4"})");
  for (const Case& c : {Case{"gpt-oss", mxfp4, testing::gpt_oss_specs, 4, "\"rank0_only\": 2"},
                        Case{"gpt-oss-w8", mxfp4, testing::gpt_oss_specs, 8, "\"rank0_only\": 2"},
                        Case{"llama4", kTinyLlama4, llama4_with_vision, 4, "\"rank0_only\": 0"},
                        Case{"qwen3-next", kTinyQwen3Next, testing::qwen3_next_specs, 8, "\"rank0_only\": 0"}}) {
    SCOPED_TRACE(c.name);
    const std::filesystem::path dir = tmp / c.name;
    write_model(dir, c.config, c.specs);
    const std::string out = testing::python_reassembly(dir, c.w);
    EXPECT_NE(out.find(c.rank0_only), std::string::npos) << out;
  }
}

}  // namespace
}  // namespace hubload
