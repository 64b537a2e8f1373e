#include "support/load_models.h"

#include <gtest/gtest.h>

#include <cstring>

#include "support/tp_models.h"

namespace hubload::testing {

std::unique_ptr<PlannedModel> planned_tiny_model(const std::string& family, int world_size, DType dtype,
                                                TinyDims dims) {
  auto m = std::make_unique<PlannedModel>();
  write_tiny_model(m->dir.path(), family, dims, dtype);
  PlanOptions o;
  o.world_size = world_size;
  Result<ShardPlan> plan = plan_model_folder(m->dir.path().string(), o);
  EXPECT_TRUE(plan.has_value()) << plan.error().to_string();
  if (plan) m->plan = *plan;
  std::string bytes = read_file(m->dir / "model.safetensors");
  m->file.resize(bytes.size());
  std::memcpy(m->file.data(), bytes.data(), bytes.size());
  return m;
}

LoadedRank load_rank(const PlannedModel& model, int rank, LoadOptions options) {
  Result<RankLoader> loader = RankLoader::create(model.dir.path().string(), options);
  EXPECT_TRUE(loader.has_value()) << loader.error().to_string();
  if (!loader) return {};
  Result<RankPlan> plan = rank_plan(model.plan, rank);
  EXPECT_TRUE(plan.has_value()) << plan.error().to_string();
  if (!plan) return {};
  Result<LoadedRank> r = loader->load(*plan);
  EXPECT_TRUE(r.has_value()) << r.error().to_string();
  if (!r) return {};
  return std::move(r).value();
}

void expect_rank_bytes(const LoadedRank& got, const std::vector<std::vector<std::byte>>& want) {
  ASSERT_EQ(got.tensors.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    ASSERT_EQ(got.tensors[i].bytes.size(), want[i].size()) << got.tensors[i].name;
    EXPECT_EQ(0, std::memcmp(got.tensors[i].bytes.data(), want[i].data(), want[i].size())) << got.tensors[i].name;
  }
}

}  // namespace hubload::testing
