// validate_tensor_parallel on real configs: divisibility worked out by hand.
#include <gtest/gtest.h>

#include "hubload/config.h"
#include "support/test_support.h"

namespace hubload {
namespace {

ModelConfig load(const std::string& dir) {
  auto c = load_model_config((testing::testdata_dir() / "configs" / dir).string());
  EXPECT_TRUE(c.has_value()) << dir;
  return c ? std::move(c).value() : ModelConfig{};
}

std::vector<std::string> messages(const TpValidation& v) {
  std::vector<std::string> out;
  for (const auto& p : v.problems) out.push_back(p.message);
  return out;
}

bool has_note(const TpValidation& v, const std::string& text) {
  for (const auto& n : v.notes) {
    if (n == text) return true;
  }
  return false;
}

// Qwen2-7B: 28 query heads, 4 KV heads, intermediate 18944, vocab 152064 (= 64 x 2376).
TEST(ConfigTp, Qwen2SplitsUpToFourAndFailsOnQueryHeadsAtEight) {
  ModelConfig c = load("Qwen--Qwen2-7B");
  for (int w : {1, 2, 4}) {
    TpValidation v = validate_tensor_parallel(c, w);
    EXPECT_TRUE(v.ok()) << w;
    EXPECT_EQ(v.heads_per_rank, 28 / w);
    EXPECT_EQ(v.kv_heads_per_rank, 4 / w);
    EXPECT_EQ(v.kv_replication, 1);
    EXPECT_EQ(v.padded_vocab, 152064);
  }
  TpValidation v8 = validate_tensor_parallel(c, 8);
  EXPECT_FALSE(v8.ok());
  EXPECT_EQ(messages(v8), std::vector<std::string>{"num_attention_heads 28 is not divisible by tp 8"});
  EXPECT_EQ(v8.problems[0].field, "num_attention_heads");
  EXPECT_FALSE(v8.heads_per_rank.has_value());
  EXPECT_EQ(v8.kv_replication, 2);  // 8 ranks / 4 KV heads
  EXPECT_EQ(v8.kv_heads_per_rank, 1);
}

// Llama-3.1-8B: 32 heads, 8 KV heads, intermediate 14336, vocab 128256.
TEST(ConfigTp, Llama3ValidThroughEightReplicatesAtSixteen) {
  ModelConfig c = load("meta-llama--Meta-Llama-3.1-8B");
  for (int w : {1, 2, 4, 8}) {
    TpValidation v = validate_tensor_parallel(c, w);
    EXPECT_TRUE(v.ok()) << w;
    EXPECT_EQ(v.heads_per_rank, 32 / w);
    EXPECT_EQ(v.kv_heads_per_rank, 8 / w);
    EXPECT_TRUE(v.notes.empty()) << w;
  }
  TpValidation v16 = validate_tensor_parallel(c, 16);
  EXPECT_TRUE(v16.ok());
  EXPECT_EQ(v16.heads_per_rank, 2);
  EXPECT_EQ(v16.kv_heads_per_rank, 1);
  EXPECT_EQ(v16.kv_replication, 2);
  EXPECT_TRUE(has_note(v16, "num_key_value_heads 8 < tp 16: each KV head is replicated on 2 ranks"));
}

TEST(ConfigTp, EveryProblemIsReportedAtOnce) {
  ModelConfig c = load("meta-llama--Meta-Llama-3.1-8B");
  // 14336 = 2^11 x 7 is not a multiple of 3; 128256 = 3 x 42752 is.
  EXPECT_EQ(messages(validate_tensor_parallel(c, 3)),
            (std::vector<std::string>{"num_attention_heads 32 is not divisible by tp 3",
                                      "num_key_value_heads 8 is not divisible by tp 3",
                                      "intermediate_size 14336 is not divisible by tp 3"}));
  TpValidation v12 = validate_tensor_parallel(c, 12);
  ASSERT_EQ(v12.problems.size(), 3u);
  EXPECT_EQ(v12.problems[0].message, "num_attention_heads 32 is not divisible by tp 12");
  EXPECT_EQ(v12.problems[1].field, "num_key_value_heads");
  EXPECT_EQ(v12.problems[1].message.rfind("tp 12 is not a multiple of num_key_value_heads 8", 0), 0u);
  EXPECT_EQ(v12.problems[2].message, "intermediate_size 14336 is not divisible by tp 12");
}

// Falcon-7B: 71 query heads and one (MQA) KV head.
TEST(ConfigTp, FalconMqaOnlySplitsAtOne) {
  ModelConfig c = load("tiiuae--falcon-7b-instruct");
  EXPECT_TRUE(validate_tensor_parallel(c, 1).ok());
  for (int w : {2, 4, 8}) {
    TpValidation v = validate_tensor_parallel(c, w);
    EXPECT_EQ(messages(v), std::vector<std::string>{"num_attention_heads 71 is not divisible by tp " + std::to_string(w)});
    EXPECT_EQ(v.kv_replication, w);
  }
}

// GPT-2 large: 20 heads (MHA), vocab 50257 (odd).
TEST(ConfigTp, Gpt2VocabNeedsPaddingAsANoteNotAnError) {
  ModelConfig c = load("openai-community--gpt2-large");
  TpValidation v2 = validate_tensor_parallel(c, 2);
  EXPECT_TRUE(v2.ok());
  EXPECT_EQ(v2.padded_vocab, 50258);
  EXPECT_EQ(v2.vllm_padded_vocab, 50304);  // ceil(50257 / 64) x 64
  EXPECT_TRUE(has_note(v2, "vocab_size 50257 is not divisible by tp 2: pad to 50258 (1 zero rows) to split the "
                           "embedding and LM head evenly"));
  EXPECT_TRUE(has_note(v2, "vLLM pads vocab_size 50257 to 50304 (a multiple of lcm(64, tp 2) = 64)"));
  TpValidation v4 = validate_tensor_parallel(c, 4);
  EXPECT_TRUE(v4.ok());
  EXPECT_EQ(v4.heads_per_rank, 5);
  EXPECT_EQ(v4.padded_vocab, 50260);
  EXPECT_EQ(messages(validate_tensor_parallel(c, 8)),
            (std::vector<std::string>{"num_attention_heads 20 is not divisible by tp 8",
                                      "num_key_value_heads 20 is not divisible by tp 8"}));
}

// Reflection-70B: vocab 128262 = 2 x 64131, not a multiple of 4 or 8.
TEST(ConfigTp, ReflectionVocabPadding) {
  ModelConfig c = load("mattshumer--Reflection-Llama-3.1-70B");
  TpValidation v4 = validate_tensor_parallel(c, 4);
  EXPECT_TRUE(v4.ok());
  EXPECT_EQ(v4.padded_vocab, 128264);
  EXPECT_EQ(v4.vllm_padded_vocab, 128320);  // 2005 x 64
  TpValidation v8 = validate_tensor_parallel(c, 8);
  EXPECT_EQ(v8.padded_vocab, 128264);       // 16033 x 8
  EXPECT_EQ(v8.vllm_padded_vocab, 128320);
  EXPECT_EQ(v8.heads_per_rank, 8);
  EXPECT_EQ(v8.kv_heads_per_rank, 1);
}

TEST(ConfigTp, TinyPhiIntermediateAndHeads) {
  ModelConfig c = load("hf-internal-testing--tiny-random-PhiModel");  // 4 heads, intermediate 37
  EXPECT_TRUE(validate_tensor_parallel(c, 1).ok());
  EXPECT_EQ(messages(validate_tensor_parallel(c, 2)),
            std::vector<std::string>{"intermediate_size 37 is not divisible by tp 2"});
  TpValidation v8 = validate_tensor_parallel(c, 8);
  EXPECT_EQ(messages(v8), (std::vector<std::string>{"num_attention_heads 4 is not divisible by tp 8",
                                                    "intermediate_size 37 is not divisible by tp 8"}));
  EXPECT_EQ(v8.kv_replication, 2);
}

TEST(ConfigTp, MoeExpertsAndChatGlmGroups) {
  // Qwen3-30B-A3B: 32 heads, 4 KV, experts 768 wide.
  TpValidation q = validate_tensor_parallel(load("Qwen--Qwen3-30B-A3B"), 8);
  EXPECT_TRUE(q.ok());
  EXPECT_EQ(q.kv_replication, 2);
  // Mixtral's experts are intermediate_size (14336) wide: reported once.
  EXPECT_EQ(messages(validate_tensor_parallel(load("mistralai--Mixtral-8x7B-v0.1"), 3)),
            (std::vector<std::string>{"num_attention_heads 32 is not divisible by tp 3",
                                      "num_key_value_heads 8 is not divisible by tp 3",
                                      "expert_intermediate_size 14336 is not divisible by tp 3"}));
  // ChatGLM3: 2 KV groups.
  TpValidation g = validate_tensor_parallel(load("THUDM--chatglm3-6b"), 4);
  EXPECT_TRUE(g.ok());
  EXPECT_EQ(g.kv_replication, 2);
  // DeepSeek-V3 at 8: 16 heads per rank; the latent KV is replicated.
  TpValidation d = validate_tensor_parallel(load("deepseek-ai--DeepSeek-V3"), 8);
  EXPECT_TRUE(d.ok());
  EXPECT_EQ(d.heads_per_rank, 16);
  EXPECT_EQ(d.kv_replication, 1);
}

TEST(ConfigTp, WorldSizeBelowOneIsAProblem) {
  ModelConfig c = load("meta-llama--Meta-Llama-3.1-8B");
  EXPECT_EQ(messages(validate_tensor_parallel(c, 0)), std::vector<std::string>{"tp 0 must be at least 1"});
  EXPECT_EQ(validate_tensor_parallel(c, -2).problems.at(0).field, "tp");
}

}  // namespace
}  // namespace hubload
