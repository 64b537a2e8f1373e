// scripts/demo.sh end to end on the small preset (a 7 MB model), and the
// independent re-assembly check it relies on refusing a corrupted rank file.
#include <filesystem>
#include <fstream>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "support/test_support.h"

namespace hubload {
namespace {

namespace fs = std::filesystem;

const fs::path kScripts = fs::path(HUBLOAD_SOURCE_DIR) / "scripts";

TEST(DemoScriptTest, SmallPresetRunsEveryStepAndCleansUp) {
  testing::TempDir tmp;
  auto result = testing::run_command(fmt::format("TMPDIR={} DEMO_PRESET=small bash {} {} 2>&1", tmp.path().string(),
                                                 (kScripts / "demo.sh").string(), testing::cli_path().string()));
  ASSERT_EQ(result.exit_code, 0) << result.out;
  for (const char* line : {"== 5. plan TP=2 from the remote safetensors headers only", "rank 1: ", "\"ok\": true",
                           "== summary", "both ranks re-assemble bit for bit into the source: OK"}) {
    EXPECT_NE(result.out.find(line), std::string::npos) << "missing '" << line << "' in:\n" << result.out;
  }
  EXPECT_TRUE(fs::is_empty(tmp.path())) << "the demo left temporary data behind";
}

TEST(DemoScriptTest, DemoFailsNamingTheStepWhenTheCliIsMissing) {
  testing::TempDir tmp;
  auto result = testing::run_command(fmt::format("TMPDIR={} DEMO_PRESET=small bash {} {} 2>&1", tmp.path().string(),
                                                 (kScripts / "demo.sh").string(), (tmp.path() / "no-such-cli").string()));
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE(result.out.find("demo: FAILED at step"), std::string::npos) << result.out;
  EXPECT_TRUE(fs::is_empty(tmp.path())) << "the demo left temporary data behind";
}

TEST(DemoScriptTest, CheckReassemblyRejectsACorruptedRankFile) {
  testing::TempDir tmp;
  const std::string cli = testing::cli_path().string();
  const std::string src = (tmp.path() / "src").string();
  ASSERT_EQ(testing::run_command(fmt::format("python3 {} {} --preset small", (kScripts / "gen-model.py").string(), src))
                .exit_code, 0);
  for (int rank : {0, 1}) {
    auto load = testing::run_command(fmt::format("{} load {} --tp 2 --rank {} --out {}/rank{}.safetensors --json", cli,
                                                 src, rank, tmp.path().string(), rank));
    ASSERT_EQ(load.exit_code, 0) << load.out;
  }
  const std::string check = fmt::format("python3 {} {} {}/rank0.safetensors {}/rank1.safetensors 2>&1",
                                        (kScripts / "check-reassembly.py").string(), src, tmp.path().string(),
                                        tmp.path().string());
  auto good = testing::run_command(check);
  ASSERT_EQ(good.exit_code, 0) << good.out;
  EXPECT_NE(good.out.find("\"ok\": true"), std::string::npos) << good.out;

  // Flip the last byte of rank 1's file: the data of its last tensor.
  const fs::path rank1 = tmp.path() / "rank1.safetensors";
  std::string bytes = testing::read_file(rank1);
  bytes.back() = static_cast<char>(bytes.back() ^ 0x01);
  testing::write_file(rank1, bytes);
  auto bad = testing::run_command(check);
  EXPECT_EQ(bad.exit_code, 1) << bad.out;
  EXPECT_NE(bad.out.find("check-reassembly: "), std::string::npos) << bad.out;
  EXPECT_NE(bad.out.find("tensor"), std::string::npos) << bad.out;
}

}  // namespace
}  // namespace hubload
