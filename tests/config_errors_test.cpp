// Bad config.json input: each a clear invalid_input (or not_found) naming the
// file and the key.
#include <gtest/gtest.h>

#include "hubload/config.h"
#include "support/test_support.h"

namespace hubload {
namespace {

Error parse_error(std::string_view json) {
  auto c = parse_model_config(json, "dir/config.json");
  EXPECT_FALSE(c.has_value()) << json;
  return c ? Error(ErrorKind::internal, "parsed") : c.error();
}

void expect_invalid(std::string_view json, const std::string& message) {
  Error e = parse_error(json);
  EXPECT_EQ(e.kind(), ErrorKind::invalid_input) << json;
  EXPECT_EQ(e.message(), message) << json;
}

TEST(ConfigErrors, MissingFileAndFolder) {
  testing::TempDir dir;
  auto file = load_model_config((dir / "nope.json").string());
  ASSERT_FALSE(file.has_value());
  EXPECT_EQ(file.error().kind(), ErrorKind::not_found);
  EXPECT_NE(file.error().message().find("nope.json"), std::string::npos);
  auto folder = load_model_config(dir.path().string());  // a folder without config.json
  ASSERT_FALSE(folder.has_value());
  EXPECT_EQ(folder.error().kind(), ErrorKind::not_found);
  EXPECT_NE(folder.error().message().find("config.json"), std::string::npos);
}

TEST(ConfigErrors, InvalidJsonAndNonObject) {
  expect_invalid("{\"model_type\": \"llama\",", "dir/config.json: not valid JSON");
  expect_invalid("", "dir/config.json: not valid JSON");
  expect_invalid("[1, 2]", "dir/config.json: top level must be a JSON object");
}

TEST(ConfigErrors, WrongTypes) {
  expect_invalid(R"({"model_type": "llama", "num_attention_heads": "32"})",
                 "dir/config.json: key 'num_attention_heads' must be an integer, got string \"32\"");
  expect_invalid(R"({"model_type": "llama", "hidden_size": 4096.5})",
                 "dir/config.json: key 'hidden_size' must be an integer, got 4096.5");
  expect_invalid(R"({"model_type": "llama", "tie_word_embeddings": "yes"})",
                 "dir/config.json: key 'tie_word_embeddings' must be a boolean, got string \"yes\"");
  expect_invalid(R"({"model_type": 7})", "dir/config.json: key 'model_type' must be a string, got number");
  expect_invalid(R"({"architectures": "LlamaForCausalLM"})",
                 "dir/config.json: key 'architectures' must be an array of strings");
  expect_invalid(R"({"model_type": "gpt2", "n_embd": [768]})",
                 "dir/config.json: key 'n_embd' must be an integer, got array");
  // Inside a wrapper the key is named with its sub-config.
  expect_invalid(R"({"model_type": "llava", "text_config": {"model_type": "llama", "vocab_size": true}})",
                 "dir/config.json: key 'text_config.vocab_size' must be an integer, got boolean");
}

TEST(ConfigErrors, ZeroNegativeAndHugeSizes) {
  expect_invalid(R"({"model_type": "llama", "num_hidden_layers": 0})",
                 "dir/config.json: key 'num_hidden_layers' must be positive, got 0");
  expect_invalid(R"({"model_type": "llama", "hidden_size": -4096})",
                 "dir/config.json: key 'hidden_size' must be positive, got -4096");
  expect_invalid(R"({"model_type": "deepseek_v3", "n_routed_experts": 8, "n_shared_experts": -1})",
                 "dir/config.json: key 'n_shared_experts' must be non-negative, got -1");
  expect_invalid(R"({"model_type": "llama", "vocab_size": 18446744073709551615})",
                 "dir/config.json: key 'vocab_size' value 18446744073709551615 is too large");
  expect_invalid(R"({"model_type": "llama", "vocab_size": 1e30})",
                 "dir/config.json: key 'vocab_size' must be an integer, got 1e+30");
}

TEST(ConfigErrors, HeadsThatDoNotDivideHiddenWithoutHeadDim) {
  expect_invalid(R"({"model_type": "llama", "hidden_size": 100, "num_attention_heads": 3})",
                 "dir/config.json: key 'hidden_size' 100 is not divisible by num_attention_heads 3 and no "
                 "head_dim is given");
  // An explicit head_dim makes it fine (Gemma-style).
  auto ok = parse_model_config(R"({"model_type": "llama", "hidden_size": 100, "num_attention_heads": 3,
                                   "head_dim": 32})", "x");
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->head_dim, 32);
}

TEST(ConfigErrors, UnknownModelTypeListsWhatItCannotDetermine) {
  auto c = parse_model_config(R"({"model_type": "mystery", "hidden_size": 64, "num_attention_heads": 4,
                                  "vocab_size": 1000})", "m.json");
  ASSERT_TRUE(c.has_value());
  EXPECT_FALSE(c->known_family);
  EXPECT_EQ(c->hidden_size, 64);
  EXPECT_FALSE(c->num_key_value_heads.has_value());  // not guessed as MHA
  EXPECT_FALSE(c->head_dim.has_value());
  EXPECT_EQ(c->undetermined, (std::vector<std::string>{"tie_word_embeddings", "num_hidden_layers",
                                                       "num_key_value_heads", "head_dim", "intermediate_size"}));
  EXPECT_FALSE(c->estimated_parameters().has_value());
  // Validation still checks what is known.
  EXPECT_EQ(validate_tensor_parallel(*c, 3).problems.at(0).message, "num_attention_heads 4 is not divisible by tp 3");
}

TEST(ConfigErrors, FamilyDefaultsForMissingKeys) {
  // GPT-2 without n_inner: 4 x n_embd; tied by default; KV = query heads.
  auto g = parse_model_config(R"({"model_type": "gpt2", "n_embd": 768, "n_head": 12, "n_layer": 12,
                                  "vocab_size": 50257})", "g.json");
  ASSERT_TRUE(g.has_value());
  EXPECT_EQ(g->intermediate_size, 3072);
  EXPECT_EQ(g->num_key_value_heads, 12);
  EXPECT_EQ(g->head_dim, 64);
  EXPECT_TRUE(g->tie_word_embeddings);
  // Falcon with new_decoder_architecture uses num_kv_heads.
  auto f = parse_model_config(R"({"model_type": "falcon", "hidden_size": 8192, "num_attention_heads": 128,
                                  "new_decoder_architecture": true, "num_kv_heads": 8})", "f.json");
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->num_key_value_heads, 8);
  // Falcon without either flag: FalconConfig's multi_query defaults to true.
  auto m = parse_model_config(R"({"model_type": "falcon", "hidden_size": 4544, "num_attention_heads": 71})", "m.json");
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->num_key_value_heads, 1);
  // OPT: ffn_dim and word_embed_proj_dim.
  auto o = parse_model_config(R"({"model_type": "opt", "hidden_size": 4096, "num_attention_heads": 32,
                                  "ffn_dim": 16384, "word_embed_proj_dim": 4096})", "o.json");
  ASSERT_TRUE(o.has_value());
  EXPECT_EQ(o->intermediate_size, 16384);
  EXPECT_EQ(o->word_embed_proj_dim, 4096);
  EXPECT_TRUE(o->tie_word_embeddings);
  // T5 without num_decoder_layers: as many as num_layers.
  auto t = parse_model_config(R"({"model_type": "t5", "d_model": 512, "num_heads": 8, "d_kv": 64,
                                  "d_ff": 2048, "num_layers": 6})", "t.json");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->num_decoder_layers, 6);
}

}  // namespace
}  // namespace hubload
