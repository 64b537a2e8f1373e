// Every real config under testdata/configs parses, with the derived fields worked
// out by hand from each file and its family's rules (see the comments).
#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <tuple>

#include "hubload/config.h"
#include "support/field_expect.h"
#include "support/test_support.h"

namespace hubload {
namespace {

namespace fs = std::filesystem;

struct Expected {
  const char* dir;
  std::int64_t layers, hidden, heads, kv_heads, head_dim;
  std::int64_t intermediate;  // -1: undetermined
  std::int64_t vocab;
  bool tied;
  std::int64_t experts;  // 0: dense
};

// clang-format off
const Expected kExpected[] = {
  // Qwen v1: kv_channels 128; MLP width is intermediate_size / 2 (49152 / 2).
  {"Qwen--Qwen-72B", 80, 8192, 64, 64, 128, 24576, 152064, false, 0},
  {"Qwen--Qwen-7B", 32, 4096, 32, 32, 128, 11008, 151936, false, 0},
  {"Qwen--Qwen2-7B", 28, 3584, 28, 4, 128, 18944, 152064, false, 0},      // 3584 / 28 = 128
  {"Qwen--Qwen2-VL-7B-Instruct", 28, 3584, 28, 4, 128, 18944, 152064, false, 0},
  {"Qwen--Qwen2.5-1.5B", 28, 1536, 12, 2, 128, 8960, 151936, true, 0},
  {"Qwen--Qwen2.5-7B", 28, 3584, 28, 4, 128, 18944, 152064, false, 0},
  {"Qwen--Qwen3-0.6B", 28, 1024, 16, 8, 128, 3072, 151936, true, 0},     // explicit head_dim
  {"Qwen--Qwen3-30B-A3B", 48, 2048, 32, 4, 128, 6144, 151936, false, 128},
  {"Qwen--Qwen3-8B", 36, 4096, 32, 8, 128, 12288, 151936, false, 0},
  {"Qwen--Qwen3-VL-30B-A3B-Instruct", 48, 2048, 32, 4, 128, 6144, 151936, false, 128},  // text_config
  {"Qwen--Qwen2.5-7B-Instruct-AWQ", 28, 3584, 28, 4, 128, 18944, 152064, false, 0},
  {"Qwen--Qwen3-235B-A22B-FP8", 94, 4096, 64, 4, 128, 12288, 151936, false, 128},
  {"Qwen--Qwen3-30B-A3B-FP8", 48, 2048, 32, 4, 128, 6144, 151936, false, 128},
  {"Qwen--Qwen3-Next-80B-A3B-Thinking", 48, 2048, 16, 2, 256, 5120, 151936, false, 512},  // explicit head_dim
  {"TheBloke--Genz-70b-GPTQ", 80, 8192, 64, 8, 128, 28672, 32000, false, 0},
  {"TheBloke--Llama-2-13B-chat-GPTQ", 40, 5120, 40, 40, 128, 13824, 32000, false, 0},
  {"hugging-quants--Meta-Llama-3.1-8B-Instruct-AWQ-INT4", 32, 4096, 32, 8, 128, 14336, 128256, false, 0},
  // Llama-4: text_config; intermediate_size is the dense intermediate_size_mlp.
  {"meta-llama--Llama-4-Maverick-17B-128E-Instruct-FP8", 48, 5120, 40, 8, 128, 16384, 202048, false, 128},
  {"meta-llama--Llama-4-Scout-17B-16E-Instruct__UNVERIFIED", 48, 5120, 40, 8, 128, 16384, 202048, false, 16},
  {"openai--gpt-oss-120b", 36, 2880, 64, 8, 64, 2880, 201088, false, 128},
  {"deepseek-ai--DeepSeek-V2-Lite-Chat", 27, 2048, 16, 16, 192, 10944, 102400, false, 64},
  // ChatGLM: num_layers, multi_query_group_num 2, kv_channels, ffn_hidden_size, padded_vocab_size.
  {"THUDM--chatglm3-6b", 28, 4096, 32, 2, 128, 13696, 65024, false, 0},
  // BLOOM: n_embed, n_layer; MLP 4 x 14336; tied by default.
  {"bigscience--bloom", 70, 14336, 112, 112, 128, 57344, 250880, true, 0},
  // DeepSeek: head_dim = qk_nope 128 + qk_rope 64.
  {"deepseek-ai--DeepSeek-R1", 61, 7168, 128, 128, 192, 18432, 129280, false, 256},
  {"deepseek-ai--DeepSeek-V3", 61, 7168, 128, 128, 192, 18432, 129280, false, 256},
  // T5: d_model, num_heads, d_kv, d_ff, num_layers.
  {"google--flan-t5-large", 24, 1024, 16, 16, 64, 2816, 32128, false, 0},
  // Gemma: explicit head_dim 256, no tie key -> tied (Gemma default).
  {"google--gemma-2-9b", 42, 3584, 16, 8, 256, 14336, 256000, true, 0},
  {"google--gemma-7b", 28, 3072, 16, 16, 256, 24576, 256000, true, 0},
  {"hf-internal-testing--tiny-random-PhiModel", 2, 32, 4, 4, 8, 37, 1024, false, 0},
  // LLaVA: text_config has only vocab/positions; the rest are LlamaConfig defaults.
  {"llava-hf--llava-1.5-7b-hf", 32, 4096, 32, 32, 128, 11008, 32064, false, 0},
  {"mattshumer--Reflection-Llama-3.1-70B", 80, 8192, 64, 8, 128, 28672, 128262, false, 0},
  {"meta-llama--Llama-2-70b-hf", 80, 8192, 64, 8, 128, 28672, 32000, false, 0},
  {"meta-llama--Llama-2-7b-hf", 32, 4096, 32, 32, 128, 11008, 32000, false, 0},
  {"meta-llama--Llama-3.1-405B-Instruct-FP8", 126, 16384, 128, 8, 128, 53248, 128256, false, 0},
  {"meta-llama--Llama-3.1-70B-Instruct", 80, 8192, 64, 8, 128, 28672, 128256, false, 0},
  {"meta-llama--Llama-3.2-1B-Instruct", 16, 2048, 32, 8, 64, 8192, 128256, true, 0},
  {"meta-llama--Llama-3.2-3B-Instruct", 28, 3072, 24, 8, 128, 8192, 128256, true, 0},
  {"meta-llama--Meta-Llama-3-70B", 80, 8192, 64, 8, 128, 28672, 128256, false, 0},
  {"meta-llama--Meta-Llama-3.1-8B", 32, 4096, 32, 8, 128, 14336, 128256, false, 0},
  {"microsoft--Phi-3-mini-128k-instruct", 32, 3072, 32, 32, 96, 8192, 32064, false, 0},  // 3072 / 32
  {"microsoft--phi-2", 32, 2560, 32, 32, 80, 10240, 51200, false, 0},
  {"mistralai--Mistral-7B-v0.1", 32, 4096, 32, 8, 128, 14336, 32000, false, 0},
  {"mistralai--Mixtral-8x7B-v0.1", 32, 4096, 32, 8, 128, 14336, 32000, false, 8},
  // Nemotron-NAS: KV = 64 / n_heads_in_group 8; intermediate_size null, varies per layer.
  {"nvidia--Llama-3_3-Nemotron-Super-49B-v1", 80, 8192, 64, 8, 128, -1, 128256, false, 0},
  {"openai--gpt-oss-20b", 24, 2880, 64, 8, 64, 2880, 201088, false, 32},
  // GPT-2: n_layer, n_embd, n_head; n_inner null -> 4 x 1280; tied.
  {"openai-community--gpt2-large", 36, 1280, 20, 20, 64, 5120, 50257, true, 0},
  // RefinedWeb: n_head_kv 8; 8192 / 128 = 64; MLP 4 x hidden; no tie key -> tied.
  {"tiiuae--falcon-40b", 60, 8192, 128, 8, 64, 32768, 65024, true, 0},
  // Falcon: multi_query -> 1 KV head; 4544 / 71 = 64.
  {"tiiuae--falcon-7b-instruct", 32, 4544, 71, 1, 64, 18176, 65024, true, 0},
  {"togethercomputer--RedPajama-INCITE-7B-Base", 32, 4096, 32, 32, 128, 16384, 50432, false, 0},
};
// clang-format on

fs::path configs() { return testing::testdata_dir() / "configs"; }

ModelConfig load(const std::string& dir) {
  auto c = load_model_config((configs() / dir).string());
  EXPECT_TRUE(c.has_value()) << dir << ": " << (c ? "" : c.error().to_string());
  return c ? std::move(c).value() : ModelConfig{};
}

TEST(ConfigTestdata, TableCoversEveryConfigFolder) {
  std::set<std::string> dirs, table;
  for (const auto& e : fs::directory_iterator(configs())) {
    if (e.is_directory()) dirs.insert(e.path().filename().string());
  }
  for (const auto& e : kExpected) table.insert(e.dir);
  EXPECT_EQ(dirs, table);
}

TEST(ConfigTestdata, DerivedFieldsMatchHandWorkedValues) {
  for (const Expected& e : kExpected) {
    SCOPED_TRACE(e.dir);
    ModelConfig c = load(e.dir);
    EXPECT_EQ(c.num_hidden_layers, e.layers);
    EXPECT_EQ(c.hidden_size, e.hidden);
    EXPECT_EQ(c.num_attention_heads, e.heads);
    EXPECT_EQ(c.num_key_value_heads, e.kv_heads);
    EXPECT_EQ(c.head_dim, e.head_dim);
    if (e.intermediate < 0) {
      EXPECT_FALSE(c.intermediate_size.has_value());
    } else {
      EXPECT_EQ(c.intermediate_size, e.intermediate);
    }
    EXPECT_EQ(c.vocab_size, e.vocab);
    EXPECT_EQ(c.tie_word_embeddings, e.tied);
    EXPECT_EQ(c.moe ? c.moe->num_experts : 0, e.experts);
    EXPECT_TRUE(c.known_family);
  }
}

// The MoE fields of each MoE config; nullopt: not checked. moe_layers: how many of
// `layers` layers are MoE (dense leading layers, interleaving).
struct MoeExpected {
  const char* dir;
  std::int64_t experts;
  std::optional<std::int64_t> per_token = {}, width = {}, shared = {}, shared_width = {}, dense_layers = {}, freq = {};
  std::int64_t layers = 0, moe_layers = 0;
};

// clang-format off
const MoeExpected kMoe[] = {
  {"Qwen--Qwen3-30B-A3B", 128, 8, 768, 0},
  // shared_expert_intermediate_size: 1 x moe_intermediate_size; first_k_dense_replace 3.
  {"deepseek-ai--DeepSeek-V3", 256, 8, 2048, 1, 2048, 3, 1, 61, 58},
  {"deepseek-ai--DeepSeek-R1", 256, {}, {}, {}, {}, {}, 1, 61, 58},
  {"deepseek-ai--DeepSeek-V2-Lite-Chat", 64, {}, {}, 2, 2 * 1408, {}, {}, 27, 26},
  {"mistralai--Mixtral-8x7B-v0.1", 8, 2, 14336},
  {"openai--gpt-oss-20b", 32, 4},
  {"openai--gpt-oss-120b", 128, 4},
  // interleave_moe_layer_step 2: layers 1, 3, 5, ...
  {"meta-llama--Llama-4-Maverick-17B-128E-Instruct-FP8", 128, {}, 8192, 1, {}, {}, 2, 48, 24},
  {"meta-llama--Llama-4-Scout-17B-16E-Instruct__UNVERIFIED", 16, {}, {}, {}, {}, {}, {}, 48, 48},
  {"Qwen--Qwen3-Next-80B-A3B-Thinking", 512, {}, {}, {}, 512},
};
// clang-format on

TEST(ConfigTestdata, MoeDetails) {
  for (const MoeExpected& e : kMoe) {
    SCOPED_TRACE(e.dir);
    ModelConfig c = load(e.dir);
    ASSERT_TRUE(c.moe);
    const MoeConfig& m = *c.moe;
    EXPECT_EQ(m.num_experts, e.experts);
    EXPECT_TRUE(testing::fields_match(
        std::tuple(e.per_token, e.width, e.shared, e.shared_width, e.dense_layers, e.freq),
        std::tuple(m.experts_per_token, m.expert_intermediate_size, m.num_shared_experts,
                   m.shared_expert_intermediate_size, m.num_dense_layers, m.layer_freq),
        {"experts_per_token", "expert_intermediate_size", "num_shared_experts", "shared_expert_intermediate_size",
         "num_dense_layers", "layer_freq"}));
    if (e.layers > 0) {
      EXPECT_EQ(m.moe_layer_count(e.layers), e.moe_layers);
    }
  }

  ModelConfig d = load("deepseek-ai--DeepSeek-V3");
  ASSERT_TRUE(d.mla);
  const MlaConfig& a = *d.mla;  // q and kv latent ranks, rope / nope / v head dims
  EXPECT_EQ(std::tuple(a.q_lora_rank, a.kv_lora_rank, a.qk_rope_head_dim, a.qk_nope_head_dim, a.v_head_dim),
            std::tuple(std::optional<std::int64_t>(1536), 512, 64, 128, 128));
  EXPECT_EQ(load("openai--gpt-oss-20b").sliding_window, 128);
}

TEST(ConfigTestdata, WrappersEncoderDecoderAndScalars) {
  ModelConfig vl = load("Qwen--Qwen3-VL-30B-A3B-Instruct");
  EXPECT_EQ(vl.text_config_key, "text_config");
  EXPECT_EQ(vl.model_type, "qwen3_vl_moe");
  EXPECT_EQ(vl.family, "qwen3_vl_moe_text");
  EXPECT_EQ(vl.dtype, "bfloat16");  // text_config's `dtype`
  EXPECT_EQ(vl.rope_theta, 5000000.0);

  ModelConfig llava = load("llava-hf--llava-1.5-7b-hf");
  EXPECT_EQ(llava.text_config_key, "text_config");
  EXPECT_EQ(llava.max_position_embeddings, 4096);
  EXPECT_EQ(llava.architectures, std::vector<std::string>{"LlavaForConditionalGeneration"});

  ModelConfig t5 = load("google--flan-t5-large");
  EXPECT_EQ(t5.num_encoder_layers, 24);
  EXPECT_EQ(t5.num_decoder_layers, 24);
  EXPECT_EQ(t5.max_position_embeddings, 512);

  ModelConfig mistral = load("mistralai--Mistral-7B-v0.1");
  EXPECT_EQ(mistral.sliding_window, 4096);
  EXPECT_EQ(mistral.dtype, "bfloat16");
  // Qwen2 carries sliding_window 131072 but use_sliding_window false.
  EXPECT_FALSE(load("Qwen--Qwen2-7B").sliding_window.has_value());

  ModelConfig llama = load("meta-llama--Meta-Llama-3.1-8B");
  EXPECT_EQ(llama.rope_theta, 500000.0);
  EXPECT_EQ(llama.raw("/rope_scaling/rope_type"), "\"llama3\"");
  EXPECT_EQ(llama.raw("/rope_scaling/factor"), "8.0");
  EXPECT_FALSE(llama.raw("/no_such_key").has_value());
  EXPECT_FALSE(llama.raw("not a pointer").has_value());
  EXPECT_NE(llama.rope_scaling_json.find("\"llama3\""), std::string::npos);

  ModelConfig nemo = load("nvidia--Llama-3_3-Nemotron-Super-49B-v1");
  EXPECT_EQ(nemo.undetermined, std::vector<std::string>{"intermediate_size"});
}

// Published sizes: Llama-3.1-8B 8.03 B, Mixtral-8x7B 46.7 B, DeepSeek-V3 671 B
// (without the MTP layer), DeepSeek-V2-Lite 15.7 B, gpt-oss-20b 20.9 B and -120b 116.8 B,
// Llama-4 Maverick ~400 B and Scout 107 B (language model only, the vision tower is not
// counted), Qwen3-Next 80 B, GPT-2 large 774 M.
TEST(ConfigTestdata, ParameterEstimatesAreNearPublishedSizes) {
  auto near = [](const char* dir, double billions, double tolerance) {
    auto p = load(dir).estimated_parameters();
    ASSERT_TRUE(p.has_value()) << dir;
    EXPECT_NEAR(static_cast<double>(*p) / 1e9, billions, tolerance) << dir;
  };
  near("meta-llama--Meta-Llama-3.1-8B", 8.03, 0.01);
  near("mistralai--Mixtral-8x7B-v0.1", 46.70, 0.05);
  near("deepseek-ai--DeepSeek-V3", 671.0, 1.0);
  near("deepseek-ai--DeepSeek-V2-Lite-Chat", 15.7, 0.3);
  near("openai--gpt-oss-20b", 20.9, 0.1);
  near("openai--gpt-oss-120b", 116.8, 1.5);
  near("meta-llama--Llama-4-Maverick-17B-128E-Instruct-FP8", 398.0, 8.0);
  near("meta-llama--Llama-4-Scout-17B-16E-Instruct__UNVERIFIED", 107.0, 3.0);
  near("Qwen--Qwen3-Next-80B-A3B-Thinking", 80.0, 2.0);
  near("openai-community--gpt2-large", 0.774, 0.002);
  // Llama-2-7B by hand: 32 x (4 x 4096^2 + 3 x 4096 x 11008 + 2 x 4096) + 2 x 32000 x 4096 + 4096.
  EXPECT_EQ(load("meta-llama--Llama-2-7b-hf").estimated_parameters(), 6738415616);
  EXPECT_FALSE(load("nvidia--Llama-3_3-Nemotron-Super-49B-v1").estimated_parameters().has_value());
}

}  // namespace
}  // namespace hubload
