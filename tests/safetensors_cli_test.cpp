// `hubload inspect` end to end through the built executable.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>

#include "support/safetensors_gen.h"
#include "support/test_support.h"

namespace hubload {
namespace {

using testing::TempDir;

std::string inspect(const std::string& args) { return testing::cli_path().string() + " inspect " + args; }

TEST(SafetensorsCli, InspectFolderAsTableAndJson) {
  TempDir dir;
  std::mt19937_64 rng(1);
  testing::write_sharded_model(dir.path(),
                               {{{"embed", DType::BF16, {8, 4}}, {"scale", DType::F32, {}}},
                                {{"lm_head", DType::BF16, {8, 4}}, {"mask", DType::BOOL, {3}}}},
                               rng);
  auto text = testing::run_command(inspect("'" + dir.path().string() + "'"));
  EXPECT_EQ(text.exit_code, 0) << text.out;
  EXPECT_NE(text.out.find("embed"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("[8, 4]"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("model-00002-of-00002.safetensors"), std::string::npos);
  EXPECT_NE(text.out.find("parameters: 68"), std::string::npos) << text.out;  // 32 + 1 + 32 + 3

  auto js = testing::run_command(inspect("--json '" + dir.path().string() + "'"));
  ASSERT_EQ(js.exit_code, 0) << js.out;
  auto doc = nlohmann::json::parse(js.out);
  EXPECT_EQ(doc["totals"]["parameters"], 68);
  EXPECT_EQ(doc["totals"]["bytes"], 64 + 4 + 64 + 3);
  EXPECT_EQ(doc["totals"]["bytes_by_dtype"]["BF16"], 128);
  EXPECT_EQ(doc["totals"]["shards"], 2);
  ASSERT_EQ(doc["tensors"].size(), 4u);
  EXPECT_EQ(doc["tensors"][0]["name"], "embed");
  EXPECT_EQ(doc["tensors"][0]["shape"], nlohmann::json({8, 4}));
  EXPECT_EQ(doc["tensors"][1]["shape"], nlohmann::json::array());
  EXPECT_EQ(doc["tensors"][3]["shard"], "model-00002-of-00002.safetensors");
}

// A hostile file's tensor name must not drive the terminal: the table escapes
// control characters, the JSON keeps the name exact.
TEST(SafetensorsCli, InspectEscapesControlCharactersInNames) {
  TempDir dir;
  std::mt19937_64 rng(1);
  const std::string name = "evil\x1b[2J\x07name";
  testing::write_sharded_model(dir.path(), {{{name, DType::F32, {2}}}}, rng);
  auto text = testing::run_command(inspect("'" + dir.path().string() + "'"));
  ASSERT_EQ(text.exit_code, 0) << text.out;
  EXPECT_EQ(text.out.find('\x1b'), std::string::npos) << text.out;
  EXPECT_EQ(text.out.find('\x07'), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("evil\\x1b[2J\\x07name"), std::string::npos) << text.out;
  auto js = testing::run_command(inspect("--json '" + dir.path().string() + "'"));
  ASSERT_EQ(js.exit_code, 0) << js.out;
  EXPECT_EQ(nlohmann::json::parse(js.out)["tensors"][0]["name"], name);
}

TEST(SafetensorsCli, InspectBadFileExitsWithInvalidInput) {
  TempDir dir;
  testing::write_file(dir / "bad.safetensors", testing::raw_safetensors("{}x", ""));
  auto r = testing::run_command(inspect("'" + (dir / "bad.safetensors").string() + "' 2>/dev/null"));
  EXPECT_EQ(r.exit_code, 3);
  auto js = testing::run_command(inspect("--json '" + (dir / "bad.safetensors").string() + "' 2>/dev/null"));
  EXPECT_EQ(js.exit_code, 3);
  auto doc = nlohmann::json::parse(js.out);
  EXPECT_EQ(doc["error"]["kind"], "invalid_input");
  EXPECT_NE(doc["error"]["message"].get<std::string>().find("bad.safetensors"), std::string::npos);
}

TEST(SafetensorsCli, HelpExplainsThePath) {
  auto r = testing::run_command(inspect("--help"));
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("model.safetensors.index.json"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--json"), std::string::npos);
}

}  // namespace
}  // namespace hubload
