// `hubload plan`, `shard` and `load` on a generated model folder.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "hubload/load.h"
#include "support/test_support.h"
#include "support/tp_models.h"
#include "util/digest.h"

namespace hubload {
namespace {

namespace fs = std::filesystem;

std::string cli() { return testing::cli_path().string(); }

TEST(LoadCli, PlanPrintsStrategiesAndBytesPerRank) {
  testing::TempDir dir;
  testing::write_tiny_model(dir / "m", "llama", {}, DType::BF16);
  auto text = testing::run_command(cli() + " plan " + (dir / "m").string() + " --tp 2");
  ASSERT_EQ(text.exit_code, 0) << text.out;
  EXPECT_NE(text.out.find("model.layers.0.self_attn.k_proj.weight"), std::string::npos);
  EXPECT_NE(text.out.find("kv_heads"), std::string::npos);
  EXPECT_NE(text.out.find("rank 1:"), std::string::npos);
  EXPECT_NE(text.out.find("imbalance"), std::string::npos);

  auto json = testing::run_command(cli() + " plan " + (dir / "m").string() + " --tp 2 --json");
  ASSERT_EQ(json.exit_code, 0);
  nlohmann::json doc = nlohmann::json::parse(json.out);
  EXPECT_EQ(doc["world_size"], 2);
  EXPECT_EQ(doc["rank_bytes"].size(), 2u);
  bool found = false;
  for (const auto& t : doc["tensors"])
    if (t["name"] == "model.layers.1.self_attn.o_proj.weight") {
      found = true;
      EXPECT_EQ(t["strategy"], "row");
      EXPECT_EQ(t["ranks"][1]["ranges"][0], (nlohmann::json{16, 32}));  // columns [16, 32) of Hq·D = 32
    }
  EXPECT_TRUE(found);
}

TEST(LoadCli, InvalidWorldSizeExitsWithThePlanCode) {
  testing::TempDir dir;
  testing::write_tiny_model(dir / "m", "llama", {}, DType::BF16);
  auto r = testing::run_command(cli() + " plan " + (dir / "m").string() + " --tp 3 --json");
  EXPECT_EQ(r.exit_code, 15) << r.out;
  EXPECT_EQ(nlohmann::json::parse(r.out)["error"]["kind"], "invalid_plan");
  auto missing = testing::run_command(cli() + " plan " + (dir / "nope").string() + " --tp 2");
  EXPECT_EQ(missing.exit_code, 4);
}

TEST(LoadCli, ShardThenLoadGiveTheSameDigests) {
  testing::TempDir dir;
  testing::write_tiny_model(dir / "m", "gpt_neox", {}, DType::BF16);
  auto shard = testing::run_command(cli() + " shard " + (dir / "m").string() + " --tp 2 --out " +
                                    (dir / "out").string() + " --json");
  ASSERT_EQ(shard.exit_code, 0) << shard.out;
  EXPECT_EQ(nlohmann::json::parse(shard.out)["rank_files"][1][0], "model-rank-1-part-0.safetensors");

  auto load = testing::run_command(cli() + " load " + (dir / "m").string() + " --tp 2 --rank 1 --json --threads 2");
  ASSERT_EQ(load.exit_code, 0) << load.out;
  nlohmann::json doc = nlohmann::json::parse(load.out);
  EXPECT_EQ(doc["rank"], 1);
  EXPECT_GT(doc["bytes_read"].get<std::uint64_t>(), 0u);
  EXPECT_LE(doc["uring_reads"].get<std::uint64_t>(), doc["read_calls"].get<std::uint64_t>());
  Result<SafetensorsFile> sf = SafetensorsFile::open((dir / "out" / "model-rank-1-part-0.safetensors").string());
  ASSERT_TRUE(sf.has_value()) << sf.error().to_string();
  ASSERT_EQ(doc["tensors"].size(), sf->tensors().size());
  for (const auto& t : doc["tensors"]) {
    const TensorInfo* info = *sf->tensor(t["name"].get<std::string>());
    std::vector<std::byte> bytes(info->size);
    ASSERT_TRUE(sf->read_tensor(*info, bytes).has_value());
    EXPECT_EQ(t["sha256"], util_internal::sha256_hex(bytes)) << t["name"];
  }

  auto text = testing::run_command(cli() + " load " + (dir / "m").string() +
                                   " --tp 2 --rank 0 --mmap --dtype f32");
  ASSERT_EQ(text.exit_code, 0) << text.out;
  EXPECT_NE(text.out.find("rank 0/2: read"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("(0 through io_uring, 0 from a leased mapping)"), std::string::npos) << text.out;  // --mmap copies
  EXPECT_NE(text.out.find("F32"), std::string::npos);
}

TEST(LoadCli, ReadAmplificationAndDirectOptionsKeepTheDigests) {
  testing::TempDir dir;
  testing::write_tiny_model(dir / "m", "llama", {}, DType::BF16);
  const std::string base = cli() + " load " + (dir / "m").string() + " --tp 8 --rank 3 --json";
  auto plain = testing::run_command(base + " --max-read-amplification 1 --direct off");
  ASSERT_EQ(plain.exit_code, 0) << plain.out;
  nlohmann::json exact = nlohmann::json::parse(plain.out);
  EXPECT_EQ(exact["covered_tensors"], 0);
  EXPECT_EQ(exact["direct_reads"], 0);
  EXPECT_EQ(exact["bytes_read"], exact["bytes_planned"]);
  for (const std::string opts : {" --max-read-amplification 8 --direct on", " --max-read-amplification 8.5",
                                 " --direct auto"}) {
    auto run = testing::run_command(base + opts);
    ASSERT_EQ(run.exit_code, 0) << opts << run.out;
    nlohmann::json doc = nlohmann::json::parse(run.out);
    EXPECT_EQ(doc["tensors"], exact["tensors"]) << opts;  // names, shapes and SHA-256s
    if (opts.find("amplification 8") != std::string::npos) {
      EXPECT_GT(doc["covered_tensors"].get<int>(), 0) << opts;
      EXPECT_LE(doc["bytes_read"].get<double>(), 8.5 * doc["bytes_planned"].get<double>());
    }
  }
  for (const std::string bad : {" --max-read-amplification 0.5", " --direct maybe"}) {
    auto run = testing::run_command(base + bad);
    EXPECT_NE(run.exit_code, 0) << bad;
  }
}

}  // namespace
}  // namespace hubload
