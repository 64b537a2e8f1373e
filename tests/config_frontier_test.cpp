// Frontier families and quantization_config, read from the real configs in
// testdata/configs (values checked against each file by hand) and, for models
// without a copied config (Kimi-K2, mllama), from inline text in their published shape.
#include <gtest/gtest.h>

#include "hubload/config.h"
#include "support/test_support.h"
#include "support/tp_models.h"

namespace hubload {
namespace {

ModelConfig load(const std::string& dir) {
  auto c = load_model_config((testing::testdata_dir() / "configs" / dir).string());
  EXPECT_TRUE(c.has_value()) << dir << ": " << (c ? "" : c.error().to_string());
  return c ? std::move(c).value() : ModelConfig{};
}

ModelConfig parse(const std::string& text) {
  auto c = parse_model_config(text, "inline.json");
  EXPECT_TRUE(c.has_value()) << (c ? "" : c.error().to_string());
  return c ? std::move(c).value() : ModelConfig{};
}


TEST(ConfigFrontier, UnknownModelTypeFallsBackToTheArchitecturesFamily) {
  ModelConfig k = testing::kimi_k2_config();
  EXPECT_TRUE(k.known_family);
  EXPECT_EQ(k.family, "deepseek_v3");
  EXPECT_EQ(k.family_from_architecture, "DeepseekV3ForCausalLM");
  EXPECT_EQ(k.model_type, "kimi_k2");
  EXPECT_EQ(k.head_dim, 192);  // qk_nope 128 + qk_rope 64, not undetermined
  EXPECT_EQ(k.num_attention_heads, 64);
  ASSERT_TRUE(k.moe);
  EXPECT_EQ(k.moe->num_experts, 384);
  EXPECT_EQ(k.moe->num_dense_layers, 1);
  EXPECT_EQ(k.moe->moe_layer_count(61), 60);
  EXPECT_TRUE(k.undetermined.empty());
  bool said = false;
  for (const auto& d : k.derivations) said = said || d.find("from architectures DeepseekV3ForCausalLM") != std::string::npos;
  EXPECT_TRUE(said);
  // An unknown type with an unknown architecture stays unknown.
  ModelConfig u = parse(R"({"model_type": "mystery", "architectures": ["MysteryForCausalLM"], "hidden_size": 8})");
  EXPECT_FALSE(u.known_family);
  EXPECT_TRUE(u.family_from_architecture.empty());
}

TEST(ConfigFrontier, DeepSeekMlaExpertsAndMtp) {
  for (const char* dir : {"deepseek-ai--DeepSeek-V3", "deepseek-ai--DeepSeek-R1"}) {
    SCOPED_TRACE(dir);
    ModelConfig d = load(dir);
    ASSERT_TRUE(d.mla);
    EXPECT_EQ(d.mla->q_lora_rank, 1536);
    EXPECT_EQ(d.num_mtp_layers, 1);
    ASSERT_TRUE(d.moe);
    EXPECT_EQ(d.moe->layer_freq, 1);
    EXPECT_EQ(d.moe->moe_layer_count(61), 58);  // first_k_dense_replace 3
    ASSERT_TRUE(d.quantization);
    EXPECT_EQ(d.quantization->method, QuantMethod::fp8);
    EXPECT_EQ(d.quantization->block_n, 128);
    EXPECT_EQ(d.quantization->block_k, 128);
    EXPECT_EQ(d.quantization->strategy, "block");
  }
  ModelConfig lite = load("deepseek-ai--DeepSeek-V2-Lite-Chat");
  ASSERT_TRUE(lite.mla);
  EXPECT_FALSE(lite.mla->q_lora_rank.has_value());  // null: q_proj straight from hidden
  EXPECT_EQ(lite.mla->kv_lora_rank, 512);
  ASSERT_TRUE(lite.moe);
  EXPECT_EQ(lite.moe->num_experts, 64);
  EXPECT_EQ(lite.moe->num_shared_experts, 2);
  EXPECT_EQ(lite.moe->shared_expert_intermediate_size, 2 * 1408);
  EXPECT_EQ(lite.moe->moe_layer_count(27), 26);
  EXPECT_FALSE(lite.quantization);
  // 15.7 B published for V2-Lite.
  ASSERT_TRUE(lite.estimated_parameters());
  EXPECT_NEAR(*lite.estimated_parameters() / 1e9, 15.7, 0.3);
}

TEST(ConfigFrontier, GptOssSinksExpertsSlidingLayersAndMxfp4) {
  ModelConfig g = load("openai--gpt-oss-120b");
  EXPECT_TRUE(g.attention_sinks);
  ASSERT_TRUE(g.moe);
  EXPECT_EQ(g.moe->num_experts, 128);
  EXPECT_EQ(g.moe->experts_per_token, 4);
  ASSERT_EQ(g.layer_types.size(), 36u);
  EXPECT_EQ(g.layer_types[0], "sliding_attention");
  EXPECT_EQ(g.layer_types[1], "full_attention");
  ASSERT_TRUE(g.quantization);
  EXPECT_EQ(g.quantization->method, QuantMethod::mxfp4);
  EXPECT_EQ(g.quantization->bits, 4);
  EXPECT_EQ(g.quantization->group_size, 32);
  EXPECT_FALSE(g.quantization->modules_not_converted.empty());
  // 116.8 B parameters; the experts (~114 B) at 4 bits, the rest BF16: about 61-65 GB on the Hub.
  ASSERT_TRUE(g.estimated_parameters());
  EXPECT_NEAR(*g.estimated_parameters() / 1e9, 116.8, 1.5);
  ASSERT_TRUE(g.estimated_weight_bytes());
  EXPECT_NEAR(*g.estimated_weight_bytes() / 1e9, 61.5, 3.0);
}

TEST(ConfigFrontier, Llama4TextConfigAndInterleavedMoe) {
  ModelConfig m = load("meta-llama--Llama-4-Maverick-17B-128E-Instruct-FP8");
  EXPECT_EQ(m.text_config_key, "text_config");
  EXPECT_EQ(m.family, "llama4_text");
  ASSERT_TRUE(m.moe);
  EXPECT_EQ(m.moe->num_experts, 128);
  EXPECT_EQ(m.moe->expert_intermediate_size, 8192);
  EXPECT_EQ(m.moe->num_shared_experts, 1);
  EXPECT_EQ(m.moe->layer_freq, 2);
  EXPECT_EQ(m.moe->moe_layer_count(48), 24);  // layers 1, 3, 5, ...
  EXPECT_FALSE(m.moe->is_moe_layer(0));
  EXPECT_TRUE(m.moe->is_moe_layer(1));
  ASSERT_TRUE(m.quantization);
  EXPECT_EQ(m.quantization->method, QuantMethod::compressed_tensors);
  EXPECT_EQ(m.quantization->bits, 8);
  EXPECT_EQ(m.quantization->strategy, "channel");
  EXPECT_EQ(m.quantization->format, "float-quantized");
  EXPECT_EQ(m.quantization->modules_not_converted.size(), 569u);
  // Language model ~400 B (the vision tower is not counted).
  ASSERT_TRUE(m.estimated_parameters());
  EXPECT_NEAR(*m.estimated_parameters() / 1e9, 398.0, 8.0);

  ModelConfig s = load("meta-llama--Llama-4-Scout-17B-16E-Instruct__UNVERIFIED");
  ASSERT_TRUE(s.moe);
  EXPECT_EQ(s.moe->moe_layer_count(48), 48);
  EXPECT_FALSE(s.quantization);
  ASSERT_TRUE(s.estimated_parameters());
  EXPECT_NEAR(*s.estimated_parameters() / 1e9, 107.0, 3.0);
}

TEST(ConfigFrontier, Qwen3NextHybridLinearAttention) {
  ModelConfig q = load("Qwen--Qwen3-Next-80B-A3B-Thinking");
  ASSERT_TRUE(q.linear_attention);
  EXPECT_EQ(q.linear_attention->num_key_heads, 16);
  EXPECT_EQ(q.linear_attention->num_value_heads, 32);
  EXPECT_EQ(q.linear_attention->key_head_dim, 128);
  EXPECT_EQ(q.linear_attention->value_head_dim, 128);
  EXPECT_EQ(q.linear_attention->conv_kernel, 4);
  EXPECT_EQ(q.linear_attention->full_attention_interval, 4);
  ASSERT_EQ(q.layer_types.size(), 48u);
  EXPECT_EQ(q.layer_types[2], "linear_attention");
  EXPECT_EQ(q.layer_types[3], "full_attention");
  ASSERT_TRUE(q.moe);
  EXPECT_EQ(q.moe->num_experts, 512);
  EXPECT_EQ(q.moe->shared_expert_intermediate_size, 512);
  ASSERT_TRUE(q.estimated_parameters());
  EXPECT_NEAR(*q.estimated_parameters() / 1e9, 80.0, 2.0);
}

TEST(ConfigFrontier, MllamaTextConfigDeterminesHeadDim) {
  // Llama-3.2-11B-Vision's text_config (abridged to the keys hubload reads).
  ModelConfig m = parse(R"({"architectures": ["MllamaForConditionalGeneration"], "model_type": "mllama",
    "text_config": {"model_type": "mllama_text_model", "hidden_size": 4096, "intermediate_size": 14336,
      "num_attention_heads": 32, "num_hidden_layers": 40, "num_key_value_heads": 8, "vocab_size": 128256,
      "cross_attention_layers": [3, 8, 13, 18, 23, 28, 33, 38], "tie_word_embeddings": false},
    "vision_config": {"hidden_size": 1280}, "torch_dtype": "bfloat16"})");
  EXPECT_TRUE(m.known_family);
  EXPECT_EQ(m.family, "mllama_text_model");
  EXPECT_EQ(m.head_dim, 128);
  EXPECT_EQ(m.num_key_value_heads, 8);
  EXPECT_TRUE(m.undetermined.empty());
}

TEST(ConfigFrontier, QuantizationConfigsAreTyped) {
  ModelConfig genz = load("TheBloke--Genz-70b-GPTQ");
  ASSERT_TRUE(genz.quantization);
  EXPECT_EQ(genz.quantization->method, QuantMethod::gptq);
  EXPECT_EQ(genz.quantization->bits, 4);
  EXPECT_EQ(genz.quantization->group_size, 128);
  EXPECT_TRUE(genz.quantization->act_order);

  ModelConfig l2 = load("TheBloke--Llama-2-13B-chat-GPTQ");
  ASSERT_TRUE(l2.quantization);
  EXPECT_EQ(l2.quantization->method, QuantMethod::gptq);
  EXPECT_FALSE(l2.quantization->act_order);

  for (const char* dir : {"hugging-quants--Meta-Llama-3.1-8B-Instruct-AWQ-INT4", "Qwen--Qwen2.5-7B-Instruct-AWQ"}) {
    SCOPED_TRACE(dir);
    ModelConfig a = load(dir);
    ASSERT_TRUE(a.quantization);
    EXPECT_EQ(a.quantization->method, QuantMethod::awq);
    EXPECT_EQ(a.quantization->bits, 4);
    EXPECT_EQ(a.quantization->group_size, 128);
    EXPECT_FALSE(a.quantization->act_order);
  }
  for (const char* dir : {"Qwen--Qwen3-30B-A3B-FP8", "Qwen--Qwen3-235B-A22B-FP8"}) {
    SCOPED_TRACE(dir);
    ModelConfig f = load(dir);
    ASSERT_TRUE(f.quantization);
    EXPECT_EQ(f.quantization->method, QuantMethod::fp8);
    EXPECT_EQ(f.quantization->block_n, 128);
    EXPECT_FALSE(f.quantization->modules_not_converted.empty());
  }
  ModelConfig fb = load("meta-llama--Llama-3.1-405B-Instruct-FP8");
  ASSERT_TRUE(fb.quantization);
  EXPECT_EQ(fb.quantization->method, QuantMethod::fp8);
  EXPECT_EQ(fb.quantization->method_name, "fbgemm_fp8");
  EXPECT_EQ(fb.quantization->strategy, "channel");

  ModelConfig bnb = parse(R"({"model_type": "llama", "hidden_size": 64, "num_attention_heads": 4,
    "quantization_config": {"quant_method": "bitsandbytes", "load_in_4bit": true,
                            "llm_int8_skip_modules": ["lm_head"]}})");
  ASSERT_TRUE(bnb.quantization);
  EXPECT_EQ(bnb.quantization->method, QuantMethod::bitsandbytes);
  EXPECT_EQ(bnb.quantization->bits, 4);
  EXPECT_EQ(bnb.quantization->modules_not_converted, std::vector<std::string>{"lm_head"});

  auto bad = parse_model_config(R"({"model_type": "deepseek_v3", "quantization_config":
    {"quant_method": "fp8", "weight_block_size": [128]}})", "bad.json");
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message().find("quantization_config.weight_block_size"), std::string::npos);
}

TEST(ConfigFrontier, WeightBytesCountQuantizedWidths) {
  // Llama-3.1-8B AWQ INT4: 8.03 B parameters; the 6.98 B in linear layers at 4 bits and the
  // 1.05 B of embeddings and head at FP16: about 5.6 GB of weights (scales excluded).
  ModelConfig a = load("hugging-quants--Meta-Llama-3.1-8B-Instruct-AWQ-INT4");
  ASSERT_TRUE(a.estimated_weight_bytes());
  EXPECT_NEAR(*a.estimated_weight_bytes() / 1e9, 5.6, 0.2);
  // DeepSeek-V3 FP8: ~671 B, nearly all at one byte: about 680 GB with BF16 embeddings/head.
  ModelConfig d = load("deepseek-ai--DeepSeek-V3");
  ASSERT_TRUE(d.estimated_weight_bytes());
  EXPECT_NEAR(*d.estimated_weight_bytes() / 1e9, 673.0, 6.0);
  // Unquantized: two bytes per parameter.
  ModelConfig l = load("meta-llama--Meta-Llama-3.1-8B");
  ASSERT_TRUE(l.estimated_weight_bytes() && l.estimated_parameters());
  EXPECT_EQ(*l.estimated_weight_bytes(), 2 * *l.estimated_parameters());
}

}  // namespace
}  // namespace hubload
