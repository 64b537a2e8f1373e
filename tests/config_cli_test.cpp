// `hubload config`: text, --json and exit codes.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/test_support.h"

namespace hubload {
namespace {

std::string cfg(const std::string& dir) { return (testing::testdata_dir() / "configs" / dir).string(); }

testing::CommandResult hubload(const std::string& args) {
  return testing::run_command(testing::cli_path().string() + " config " + args + " 2>/dev/null");
}

TEST(ConfigCli, TextSummaryForAValidSplit) {
  auto r = hubload(cfg("meta-llama--Meta-Llama-3.1-8B") + " --tp 8");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("attention heads    32 query, 8 KV, head_dim 128"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("tensor parallel, tp 8: ok"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("query heads per rank  4"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("KV heads per rank     1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("parameters (est.)  8.03 B"), std::string::npos) << r.out;
}

TEST(ConfigCli, InvalidSplitExitsWithInvalidPlan) {
  auto r = hubload(cfg("Qwen--Qwen2-7B") + " --tp 8");
  EXPECT_EQ(r.exit_code, 15);
  EXPECT_NE(r.out.find("tensor parallel, tp 8: INVALID"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("problem: num_attention_heads 28 is not divisible by tp 8"), std::string::npos) << r.out;
  EXPECT_EQ(hubload(cfg("Qwen--Qwen2-7B") + " --tp 0").exit_code, 15);
}

TEST(ConfigCli, JsonCarriesFieldsAndValidation) {
  auto r = hubload(cfg("Qwen--Qwen2-7B") + "/config.json --tp 8 --json");
  EXPECT_EQ(r.exit_code, 15);
  auto doc = nlohmann::json::parse(r.out);
  EXPECT_EQ(doc["model_type"], "qwen2");
  EXPECT_EQ(doc["num_attention_heads"], 28);
  EXPECT_EQ(doc["num_key_value_heads"], 4);
  EXPECT_EQ(doc["tie_word_embeddings"], false);
  EXPECT_EQ(doc["tensor_parallel"]["ok"], false);
  EXPECT_EQ(doc["tensor_parallel"]["kv_replication"], 2);
  EXPECT_EQ(doc["tensor_parallel"]["problems"][0]["message"], "num_attention_heads 28 is not divisible by tp 8");

  auto ds = nlohmann::json::parse(hubload(cfg("deepseek-ai--DeepSeek-V3") + " --json").out);
  EXPECT_EQ(ds["moe"]["num_experts"], 256);
  EXPECT_EQ(ds["mla"]["kv_lora_rank"], 512);
  EXPECT_EQ(ds["rope_scaling"]["factor"], 40);
}

TEST(ConfigCli, BadInputExitCodes) {
  testing::TempDir dir;
  testing::write_file(dir / "config.json", R"({"model_type": "llama", "hidden_size": "big"})");
  auto bad = hubload(dir.path().string() + " --json");
  EXPECT_EQ(bad.exit_code, 3);
  auto err = nlohmann::json::parse(bad.out);
  EXPECT_EQ(err["error"]["kind"], "invalid_input");
  EXPECT_NE(err["error"]["message"].get<std::string>().find("key 'hidden_size'"), std::string::npos);
  EXPECT_EQ(hubload((dir / "missing.json").string()).exit_code, 4);
}

TEST(ConfigCli, HelpExplains) {
  auto r = testing::run_command(testing::cli_path().string() + " config --help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("--tp"), std::string::npos);
  EXPECT_NE(r.out.find("invalid_plan"), std::string::npos);
}

}  // namespace
}  // namespace hubload
