// Every family at W = 1, 2, 4, 8: the rank slices a plan describes rebuild each
// full tensor bit for bit, and fused QKV ranks hold their own heads.
#include <gtest/gtest.h>

#include <cstring>

#include "hubload/plan.h"
#include "support/tp_models.h"

namespace hubload {
namespace {

using testing::TinyDims;

struct Planned {
  ShardPlan plan;
  testing::TinyCheckpoint ck;
  std::vector<std::vector<std::vector<std::byte>>> rank_bytes;  // [rank][tensor of rank plan]
};

Planned plan_and_apply(const std::string& family, TinyDims dims, int w, DType dtype,
                       bool index_values = false) {
  ModelConfig config = testing::tiny_config(family, dims);
  auto specs = testing::tiny_specs(config, dims);
  Planned p;
  p.ck = index_values ? testing::make_index_checkpoint(specs, dtype) : testing::make_checkpoint(specs, dtype);
  PlanOptions options;
  options.world_size = w;
  Result<ShardPlan> plan = plan_tensor_parallel(config, p.ck.tensors, options);
  EXPECT_TRUE(plan.has_value()) << family << " W=" << w << ": " << plan.error().to_string();
  if (!plan) return p;
  p.plan = std::move(plan).value();
  for (int r = 0; r < w; ++r) {
    Result<RankPlan> rp = rank_plan(p.plan, r);
    EXPECT_TRUE(rp.has_value());
    p.rank_bytes.push_back(testing::apply_rank_plan(*rp, p.ck.file));
  }
  return p;
}

// The bytes rank r holds for tensor `name` (empty when absent on that rank).
const std::vector<std::byte>* rank_tensor(const Planned& p, int r, const std::string& name) {
  Result<RankPlan> rp = rank_plan(p.plan, r);
  for (std::size_t i = 0; i < rp->tensors.size(); ++i)
    if (rp->tensors[i].name == name) return &p.rank_bytes[static_cast<std::size_t>(r)][i];
  return nullptr;
}

class Reassembly : public ::testing::TestWithParam<std::tuple<std::string, int>> {};

TEST_P(Reassembly, RankSlicesRebuildEveryTensor) {
  auto [family, w] = GetParam();
  for (bool tied : {false, true}) {
    TinyDims dims;
    dims.tied = tied;
    Planned p = plan_and_apply(family, dims, w, DType::F32);
    ASSERT_EQ(p.plan.tensors.size(), p.ck.tensors.size());
    for (const TensorPlan& t : p.plan.tensors) {
      if (t.strategy == Strategy::skip) {
        EXPECT_TRUE(t.name.find("attn.bias") != std::string::npos || t.name.find("inv_freq") != std::string::npos ||
                    (tied && t.name == "lm_head.weight"))
            << t.name;
        continue;
      }
      std::vector<std::vector<std::byte>> slices(static_cast<std::size_t>(w));
      for (int r = 0; r < w; ++r) {
        const auto* b = rank_tensor(p, r, t.name);
        if (b) slices[static_cast<std::size_t>(r)] = *b;
      }
      std::vector<std::byte> full = testing::reassemble(t, slices);
      ASSERT_EQ(full.size(), t.info.size) << family << " W=" << w << " " << t.name;
      EXPECT_EQ(0, std::memcmp(full.data(), p.ck.file.data() + t.info.offset, full.size())) << t.name;
      if (t.ranks[0].dim >= 0 && w > 1) {  // a split tensor is smaller on each rank
        auto d = static_cast<std::size_t>(t.ranks[0].dim);
        EXPECT_LT(t.rank_shape(0)[d], t.info.shape[d]) << t.name;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllFamilies, Reassembly,
                         ::testing::Combine(::testing::ValuesIn(testing::tiny_families()),
                                            ::testing::Values(1, 2, 4, 8)),
                         [](const auto& info) {
                           return std::get<0>(info.param) + "_W" + std::to_string(std::get<1>(info.param));
                         });

// Index-valued tensors (value = flat element index) make row identity visible.
float at(const std::vector<std::byte>& b, std::size_t i) {
  float f;
  std::memcpy(&f, b.data() + 4 * i, 4);
  return f;
}

// Rank row `local` of an [R, H] slice must be global row `global`.
void expect_row(const std::vector<std::byte>& b, std::uint64_t H, std::uint64_t local, std::uint64_t global,
                const std::string& what) {
  EXPECT_EQ(at(b, local * H), static_cast<float>(global * H)) << what;
  EXPECT_EQ(at(b, local * H + H - 1), static_cast<float>(global * H + H - 1)) << what;
}

TEST(FusedQkv, Phi3RanksHoldTheirQueryAndKvHeads) {
  TinyDims d;  // Hq 8, Hkv 2, D 4, H 32
  for (int w : {2, 4}) {
    Planned p = plan_and_apply("phi3", d, w, DType::F32, true);
    const std::uint64_t D = 4, H = 32, Hq = 8, Hkv = 2, qh = Hq / w;
    for (int r = 0; r < w; ++r) {
      const auto& b = *rank_tensor(p, r, "model.layers.0.self_attn.qkv_proj.weight");
      ASSERT_EQ(b.size(), (qh + 2) * D * H * 4) << "w=" << w;  // q: qh heads; k, v: one KV head each
      std::uint64_t kv = static_cast<std::uint64_t>(r) / (static_cast<std::uint64_t>(w) / Hkv);
      for (std::uint64_t j = 0; j < qh * D; ++j) expect_row(b, H, j, r * qh * D + j, "q");
      for (std::uint64_t j = 0; j < D; ++j) {
        expect_row(b, H, qh * D + j, Hq * D + kv * D + j, "k");
        expect_row(b, H, qh * D + D + j, Hq * D + Hkv * D + kv * D + j, "v");
      }
    }
  }
}

TEST(FusedQkv, NeoxRankTakesOneContiguousBlockOfInterleavedHeads) {
  TinyDims d;  // MHA: 8 heads of D = 4, H = 32; layout [head][q,k,v][D]
  Planned p = plan_and_apply("gpt_neox", d, 4, DType::F32, true);
  const std::uint64_t D = 4, H = 32;
  for (int r = 0; r < 4; ++r) {
    const auto& b = *rank_tensor(p, r, "gpt_neox.layers.1.attention.query_key_value.weight");
    ASSERT_EQ(b.size(), 2 * 3 * D * H * 4);  // two heads of q, k, v
    for (std::uint64_t head = 0; head < 2; ++head)
      for (std::uint64_t part = 0; part < 3; ++part)
        for (std::uint64_t j = 0; j < D; ++j)
          expect_row(b, H, head * 3 * D + part * D + j, (r * 2 + head) * 3 * D + part * D + j, "neox head");
    const auto& bias = *rank_tensor(p, r, "gpt_neox.layers.1.attention.query_key_value.bias");
    EXPECT_EQ(at(bias, 0), static_cast<float>(r * 2 * 3 * D));
  }
}

TEST(FusedQkv, FalconWithMoreRanksThanKvGroupsTakesItsQueriesAndTheGroupsKv) {
  TinyDims d;  // Hq 8, Hkv 2 → groups of 4 q + k + v = 6 heads = 24 rows
  Planned p = plan_and_apply("falcon", d, 4, DType::F32, true);
  const std::uint64_t D = 4, H = 32, group = 6 * D;
  for (std::uint64_t r = 0; r < 4; ++r) {
    const auto& b = *rank_tensor(p, static_cast<int>(r), "transformer.h.0.self_attention.query_key_value.weight");
    ASSERT_EQ(b.size(), 4 * D * H * 4);  // 2 q heads + k + v
    std::uint64_t g = r / 2, half = r % 2;
    for (std::uint64_t j = 0; j < 2 * D; ++j) expect_row(b, H, j, g * group + half * 2 * D + j, "falcon q");
    for (std::uint64_t j = 0; j < D; ++j) {
      expect_row(b, H, 2 * D + j, g * group + 4 * D + j, "falcon k");
      expect_row(b, H, 3 * D + j, g * group + 5 * D + j, "falcon v");
    }
  }
}

TEST(FusedQkv, Gpt2CAttnColumnsAreSplitPerBlock) {
  TinyDims d;  // H 32: c_attn [32, 96] stored [in, out]
  Planned p = plan_and_apply("gpt2", d, 2, DType::F32, true);
  const std::uint64_t H = 32;
  for (std::uint64_t r = 0; r < 2; ++r) {
    const auto& b = *rank_tensor(p, static_cast<int>(r), "h.0.attn.c_attn.weight");
    ASSERT_EQ(b.size(), H * 48 * 4);  // [32, 48]: 16 q + 16 k + 16 v columns
    for (std::uint64_t row : {0ull, 31ull})
      for (std::uint64_t block = 0; block < 3; ++block)
        for (std::uint64_t c = 0; c < 16; ++c)
          EXPECT_EQ(at(b, row * 48 + block * 16 + c), static_cast<float>(row * 96 + block * H + r * 16 + c));
  }
}

}  // namespace
}  // namespace hubload
