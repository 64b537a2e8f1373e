// Pre-sharded checkpoints: every rank file is a valid safetensors file whose
// tensors equal what the RankLoader reads for that rank.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "hubload/load.h"
#include "support/test_support.h"
#include "support/tp_models.h"

namespace hubload {
namespace {

namespace fs = std::filesystem;

void check_shards(const std::string& family, int w, std::uint64_t max_part, bool expect_several_parts) {
  testing::TempDir dir;
  testing::TinyDims d;
  testing::write_tiny_model(dir / "model", family, d, DType::BF16);
  PlanOptions po;
  po.world_size = w;
  ShardPlan plan = *plan_model_folder((dir / "model").string(), po);
  ShardWriteOptions so;
  so.out_dir = (dir / "out").string();
  so.max_part_bytes = max_part;
  so.batch_bytes = 4096;  // several loader batches per part
  Result<ShardWriteResult> written = write_rank_shards((dir / "model").string(), plan, so);
  ASSERT_TRUE(written.has_value()) << written.error().to_string();
  EXPECT_TRUE(fs::exists(dir / "out" / "tp-plan.json"));
  EXPECT_TRUE(fs::exists(dir / "out" / "config.json"));
  ASSERT_EQ(written->rank_files.size(), static_cast<std::size_t>(w));

  RankLoader loader = *RankLoader::create((dir / "model").string());
  for (int r = 0; r < w; ++r) {
    const auto& files = written->rank_files[static_cast<std::size_t>(r)];
    if (expect_several_parts) {
      EXPECT_GT(files.size(), 1u);
    }
    for (std::size_t p = 0; p < files.size(); ++p) EXPECT_EQ(files[p], rank_shard_name(r, static_cast<int>(p)));
    LoadedRank want = *loader.load(*rank_plan(plan, r));
    std::size_t seen = 0;
    for (const std::string& f : files) {
      Result<SafetensorsFile> sf = SafetensorsFile::open((dir / "out" / f).string());
      ASSERT_TRUE(sf.has_value()) << sf.error().to_string();
      if (max_part) {
        std::uint64_t data = sf->header().file_size - sf->header().data_offset;
        EXPECT_TRUE(data <= max_part || sf->tensors().size() == 1) << f;
      }
      for (const TensorInfo& info : sf->tensors()) {
        const LoadedTensor* t = want.find(info.name);
        ASSERT_NE(t, nullptr) << info.name;
        EXPECT_EQ(info.shape, t->shape);
        EXPECT_EQ(info.dtype, t->dtype);
        std::vector<std::byte> bytes(info.size);
        ASSERT_TRUE(sf->read_tensor(info, bytes).has_value());
        ASSERT_EQ(bytes.size(), t->bytes.size());
        EXPECT_EQ(0, std::memcmp(bytes.data(), t->bytes.data(), bytes.size())) << info.name;
        ++seen;
      }
    }
    EXPECT_EQ(seen, want.tensors.size()) << "rank " << r;
  }
}

TEST(ShardWriter, RankFilesEqualTheLoaderOutput) { check_shards("llama", 2, 0, false); }
TEST(ShardWriter, PartsRespectTheMaximumSize) { check_shards("phi3", 4, 8192, true); }
TEST(ShardWriter, FusedAndPaddedFamilies) {
  check_shards("gpt2", 4, 0, false);
  check_shards("falcon", 8, 0, false);
}

}  // namespace
}  // namespace hubload
