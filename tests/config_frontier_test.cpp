// Frontier families and quantization_config, read from the real configs in
// testdata/configs (values checked against each file by hand) and, for models
// without a copied config (Kimi-K2, mllama), from inline text in their published shape.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <tuple>

#include "hubload/config.h"
#include "support/field_expect.h"
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
    EXPECT_EQ(d.num_mtp_layers, 1);  // MoE fields: config_testdata_test's kMoe; FP8 blocks: kQuant
  }
  ModelConfig lite = load("deepseek-ai--DeepSeek-V2-Lite-Chat");
  ASSERT_TRUE(lite.mla);
  EXPECT_FALSE(lite.mla->q_lora_rank.has_value());  // null: q_proj straight from hidden
  EXPECT_EQ(lite.mla->kv_lora_rank, 512);
  EXPECT_FALSE(lite.quantization);
}

TEST(ConfigFrontier, GptOssSinksExpertsSlidingLayersAndMxfp4) {
  ModelConfig g = load("openai--gpt-oss-120b");
  EXPECT_TRUE(g.attention_sinks);
  ASSERT_EQ(g.layer_types.size(), 36u);
  EXPECT_EQ(g.layer_types[0], "sliding_attention");
  EXPECT_EQ(g.layer_types[1], "full_attention");
  // 116.8 B parameters; the experts (~114 B) at 4 bits, the rest BF16: about 61-65 GB on the Hub.
  ASSERT_TRUE(g.estimated_weight_bytes());
  EXPECT_NEAR(*g.estimated_weight_bytes() / 1e9, 61.5, 3.0);
}

TEST(ConfigFrontier, Llama4TextConfigAndInterleavedMoe) {
  ModelConfig m = load("meta-llama--Llama-4-Maverick-17B-128E-Instruct-FP8");
  EXPECT_EQ(m.text_config_key, "text_config");
  EXPECT_EQ(m.family, "llama4_text");
  ASSERT_TRUE(m.moe);  // its MoE fields and size: config_testdata_test
  EXPECT_FALSE(m.moe->is_moe_layer(0));
  EXPECT_TRUE(m.moe->is_moe_layer(1));
  EXPECT_FALSE(load("meta-llama--Llama-4-Scout-17B-16E-Instruct__UNVERIFIED").quantization);
}

TEST(ConfigFrontier, Qwen3NextHybridLinearAttention) {
  ModelConfig q = load("Qwen--Qwen3-Next-80B-A3B-Thinking");
  ASSERT_TRUE(q.linear_attention);
  const LinearAttentionConfig& l = *q.linear_attention;
  // key heads, value heads, key and value head dims, conv kernel, full-attention interval
  EXPECT_EQ(std::tuple(l.num_key_heads, l.num_value_heads, l.key_head_dim, l.value_head_dim, l.conv_kernel,
                       l.full_attention_interval),
            std::tuple(16, 32, 128, 128, 4, 4));
  ASSERT_EQ(q.layer_types.size(), 48u);
  EXPECT_EQ(q.layer_types[2], "linear_attention");
  EXPECT_EQ(q.layer_types[3], "full_attention");
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

// Each real config's quantization_config; nullopt / nullptr: not checked.
struct QuantExpected {
  const char* dir;
  QuantMethod method;
  std::optional<std::int64_t> bits = {}, group_size = {}, block_n = {}, block_k = {};
  std::optional<bool> act_order = {};
  const char* strategy = nullptr;
  const char* method_name = nullptr;
  const char* format = nullptr;
  std::optional<std::size_t> modules_not_converted = {};  // 0: some, any number
};

// clang-format off
const QuantExpected kQuant[] = {
  {"deepseek-ai--DeepSeek-V3", QuantMethod::fp8, {}, {}, 128, 128, {}, "block"},
  {"deepseek-ai--DeepSeek-R1", QuantMethod::fp8, {}, {}, 128, 128, {}, "block"},
  {"openai--gpt-oss-120b", QuantMethod::mxfp4, 4, 32, {}, {}, {}, nullptr, nullptr, nullptr, 0},
  {"meta-llama--Llama-4-Maverick-17B-128E-Instruct-FP8", QuantMethod::compressed_tensors, 8, {}, {}, {}, {},
   "channel", nullptr, "float-quantized", 569},
  {"TheBloke--Genz-70b-GPTQ", QuantMethod::gptq, 4, 128, {}, {}, true},
  {"TheBloke--Llama-2-13B-chat-GPTQ", QuantMethod::gptq, {}, {}, {}, {}, false},
  {"hugging-quants--Meta-Llama-3.1-8B-Instruct-AWQ-INT4", QuantMethod::awq, 4, 128, {}, {}, false},
  {"Qwen--Qwen2.5-7B-Instruct-AWQ", QuantMethod::awq, 4, 128, {}, {}, false},
  {"Qwen--Qwen3-30B-A3B-FP8", QuantMethod::fp8, {}, {}, 128, {}, {}, nullptr, nullptr, nullptr, 0},
  {"Qwen--Qwen3-235B-A22B-FP8", QuantMethod::fp8, {}, {}, 128, {}, {}, nullptr, nullptr, nullptr, 0},
  {"meta-llama--Llama-3.1-405B-Instruct-FP8", QuantMethod::fp8, {}, {}, {}, {}, {}, "channel", "fbgemm_fp8"},
};
// clang-format on

TEST(ConfigFrontier, QuantizationConfigsAreTyped) {
  for (const QuantExpected& e : kQuant) {
    SCOPED_TRACE(e.dir);
    const std::optional<QuantizationConfig> q = load(e.dir).quantization;
    ASSERT_TRUE(q);
    auto text = [](const char* s) { return s ? std::optional<std::string>(s) : std::nullopt; };
    EXPECT_TRUE(testing::fields_match(
        std::tuple(std::optional(e.method), e.bits, e.group_size, e.block_n, e.block_k, e.act_order, text(e.strategy),
                   text(e.method_name), text(e.format)),
        std::tuple(q->method, q->bits, q->group_size, q->block_n, q->block_k, q->act_order, q->strategy,
                   q->method_name, q->format),
        {"method", "bits", "group_size", "block_n", "block_k", "act_order", "strategy", "method_name", "format"}));
    if (e.modules_not_converted == 0u) {
      EXPECT_FALSE(q->modules_not_converted.empty());
    } else if (e.modules_not_converted) {
      EXPECT_EQ(q->modules_not_converted.size(), *e.modules_not_converted);
    }
  }

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
