// gpt-oss, Llama-4 and Qwen3-Next: the split kinds they need, on their own, and plans
// from the real configs (layers cut down) with the published tensor names, split as
// vLLM splits them (tensor-parallel-frontier.md §2, §3, §5) at every W it allows up to
// 8, and refused by message where it refuses.
#include <gtest/gtest.h>

#include <map>

#include "hubload/plan.h"
#include "plan/split.h"
#include "support/test_support.h"
#include "support/tp_models.h"

namespace hubload {
namespace {

using u64 = std::uint64_t;
using Shape = std::vector<u64>;
using Ranges = std::vector<SliceRange>;

// ---- The split kinds ------------------------------------------------------------------

struct Split {
  PlanOptions options;
  plan_internal::SplitContext ctx;
  explicit Split(int w, u64 mxfp4_block = 1) {
    options.world_size = w;
    ctx.world_size = w;
    ctx.mxfp4_block = mxfp4_block;
    ctx.options = &options;
  }
  Result<std::vector<TensorSlice>> operator()(const std::string& name, Shape shape, Strategy s, int dim) const {
    return plan_internal::split_tensor(TensorInfo{name, DType::U8, std::move(shape), 0, 0}, s, dim, ctx);
  }
};

TEST(SplitKinds, Mxfp4GateUpTakesWholeBlocksOfInterleavedRowsTheLastRankLess) {
  // gpt-oss I = 2880 = 90 blocks of 32; W = 4: 23 blocks (736) per rank, rank 3 gets 21 (672).
  auto s = Split(4, 32)("gate_up_proj_blocks", {32, 5760, 90, 16}, Strategy::mxfp4_gate_up, 1);
  ASSERT_TRUE(s.has_value()) << s.error().to_string();
  for (u64 r = 0; r < 3; ++r) EXPECT_EQ((*s)[r].ranges, (Ranges{{r * 1472, 1472}})) << r;
  EXPECT_EQ((*s)[3].ranges, (Ranges{{4416, 1344}}));
  EXPECT_EQ((*s)[3].dim, 1);
  // The down projection's I/32 blocks: [s/32, e/32).
  auto d = Split(4, 32)("down_proj_blocks", {32, 2880, 90, 16}, Strategy::mxfp4_down, 2);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ((*d)[0].ranges, (Ranges{{0, 23}}));
  EXPECT_EQ((*d)[3].ranges, (Ranges{{69, 21}}));
  // W = 8: 12 blocks per rank, the last 6.
  auto g8 = Split(8, 32)("gate_up_proj_bias", {32, 5760}, Strategy::mxfp4_gate_up, 1);
  ASSERT_TRUE(g8.has_value());
  EXPECT_EQ((*g8)[6].ranges, (Ranges{{6 * 768, 768}}));
  EXPECT_EQ((*g8)[7].ranges, (Ranges{{7 * 768, 384}}));
}

TEST(SplitKinds, UnquantizedGptOssExpertsSplitEvenlyInSingleElements) {
  // BF16 gpt-oss (vLLM _load_weights_other): cdiv(I, W) = I / W columns, gate/up pairs kept.
  auto s = Split(4)("gate_up_proj", {32, 2880, 5760}, Strategy::mxfp4_gate_up, 2);
  ASSERT_TRUE(s.has_value());
  for (u64 r = 0; r < 4; ++r) EXPECT_EQ((*s)[r].ranges, (Ranges{{r * 1440, 1440}}));
  auto d = Split(4)("down_proj", {32, 2880, 2880}, Strategy::mxfp4_down, 1);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ((*d)[3].ranges, (Ranges{{2160, 720}}));
}

TEST(SplitKinds, GptOssIntermediateNotDivisibleByWIsRefusedAsVllmAsserts) {
  // 15 blocks of 32 = 480; tp 7 does not divide it.
  auto s = Split(7, 32)("model.layers.0.mlp.experts.gate_up_proj_blocks", {4, 960, 2, 16}, Strategy::mxfp4_gate_up, 1);
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().kind(), ErrorKind::invalid_plan);
  const std::string m = s.error().message();
  for (const char* part : {"tensor 'model.layers.0.mlp.experts.gate_up_proj_blocks' dim 1",
                           "expert intermediate size 480 (15 blocks of 32) is not divisible by tp 7",
                           "tp that work: 1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 16, 20, 24, 30, 32, 40, 48, 60",
                           "or plan with expert parallelism"})
    EXPECT_NE(m.find(part), std::string::npos) << part << " not in: " << m;
  auto odd = Split(2, 32)("x.gate_up_proj_blocks", {4, 96, 2, 16}, Strategy::mxfp4_gate_up, 1);
  ASSERT_FALSE(odd.has_value());
  EXPECT_NE(odd.error().message().find("not 2 x a whole number of 32-element blocks"), std::string::npos);
}

TEST(SplitKinds, Rank0OnlyIsWholeOnRankZeroAndAbsentElsewhere) {
  auto s = Split(4)("down_proj_bias", {32, 2880}, Strategy::rank0, -1);
  ASSERT_TRUE(s.has_value());
  EXPECT_TRUE((*s)[0].present);
  EXPECT_EQ((*s)[0].dim, -1);
  for (std::size_t r = 1; r < 4; ++r) EXPECT_FALSE((*s)[r].present) << r;
}

TEST(SplitKinds, ConvQkvSplitsEachSectionAndConcatenates) {
  Split split(8);
  split.ctx.linear_key_dim = 2048;  // Qwen3-Next-80B: 16 key heads of 128, 32 value heads of 128
  split.ctx.linear_value_dim = 4096;
  auto s = split("conv1d.weight", {8192, 1, 4}, Strategy::conv_qkv, 0);
  ASSERT_TRUE(s.has_value()) << s.error().to_string();
  for (u64 r = 0; r < 8; ++r)
    EXPECT_EQ((*s)[r].ranges, (Ranges{{r * 256, 256}, {2048 + r * 256, 256}, {4096 + r * 512, 512}})) << r;
  auto bad = split("conv1d.weight", {8000, 1, 4}, Strategy::conv_qkv, 0);
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message().find("size 8000 is not 2 x linear key dim 2048 + linear value dim 4096"),
            std::string::npos)
      << bad.error().message();
}

TEST(SplitKinds, NewStrategiesHaveNames) {
  for (Strategy s : {Strategy::mxfp4_gate_up, Strategy::mxfp4_down, Strategy::rank0, Strategy::conv_qkv})
    EXPECT_EQ(strategy_from_string(to_string(s)), s) << to_string(s);
}

// ---- Plans from the real configs ------------------------------------------------------

struct Planned {
  Result<ShardPlan> plan;
  std::map<std::string, const TensorPlan*> by_name;
  const TensorPlan& at(const std::string& n) const { return *by_name.at(n); }
  Shape shape(const std::string& n, int r = 0) const { return at(n).rank_shape(r); }
};

Planned plan(const ModelConfig& c, const std::vector<TensorSpec>& specs, int w) {
  PlanOptions o;
  o.world_size = w;
  Planned p{plan_tensor_parallel(c, testing::spec_tensors(specs), o), {}};
  if (p.plan)
    for (const TensorPlan& t : p.plan->tensors) p.by_name[t.name] = &t;
  return p;
}

// Plans for W = 1..8: those in `allowed` succeed, the others fail naming `why`.
void expect_world_sizes(const ModelConfig& c, const std::vector<TensorSpec>& specs, const std::vector<int>& allowed,
                        const std::string& why) {
  for (int w = 1; w <= 8; ++w) {
    Planned p = plan(c, specs, w);
    if (std::find(allowed.begin(), allowed.end(), w) != allowed.end()) {
      EXPECT_TRUE(p.plan.has_value()) << c.source << " tp " << w << ": " << p.plan.error().to_string();
      continue;
    }
    ASSERT_FALSE(p.plan.has_value()) << c.source << " tp " << w;
    EXPECT_EQ(p.plan.error().kind(), ErrorKind::invalid_plan);
    EXPECT_NE(p.plan.error().message().find(why), std::string::npos) << p.plan.error().message();
  }
}

TEST(FrontierFamilies, GptOss20bAnd120bSplitMxfp4ExpertsUnevenlyAsVllmDoes) {
  for (const char* dir : {"openai--gpt-oss-20b", "openai--gpt-oss-120b"}) {
    SCOPED_TRACE(dir);
    ModelConfig c = testing::testdata_config(dir, 2);
    const auto specs = testing::gpt_oss_specs(c);
    const u64 e = static_cast<u64>(c.moe->num_experts);
    expect_world_sizes(c, specs, {1, 2, 4, 8}, "num_attention_heads 64 is not divisible by tp");
    Planned p = plan(c, specs, 4);
    ASSERT_TRUE(p.plan.has_value()) << p.plan.error().to_string();
    const std::string x = "model.layers.1.mlp.experts.";
    EXPECT_EQ(p.at(x + "gate_up_proj_blocks").strategy, Strategy::mxfp4_gate_up);
    EXPECT_EQ(p.shape(x + "gate_up_proj_blocks", 0), (Shape{e, 1472, 90, 16}));
    EXPECT_EQ(p.shape(x + "gate_up_proj_blocks", 3), (Shape{e, 1344, 90, 16}));
    EXPECT_EQ(p.shape(x + "gate_up_proj_scales", 3), (Shape{e, 1344, 90}));
    EXPECT_EQ(p.shape(x + "gate_up_proj_bias", 3), (Shape{e, 1344}));
    EXPECT_EQ(p.shape(x + "down_proj_blocks", 0), (Shape{e, 2880, 23, 16}));
    EXPECT_EQ(p.shape(x + "down_proj_blocks", 3), (Shape{e, 2880, 21, 16}));
    EXPECT_EQ(p.shape(x + "down_proj_scales", 3), (Shape{e, 2880, 21}));
    const TensorPlan& bias = p.at(x + "down_proj_bias");
    EXPECT_EQ(bias.strategy, Strategy::rank0);
    EXPECT_TRUE(bias.ranks[0].present);
    for (std::size_t r = 1; r < 4; ++r) EXPECT_FALSE(bias.ranks[r].present);
    EXPECT_EQ(p.shape("model.layers.0.self_attn.sinks"), (Shape{16}));
    EXPECT_EQ(p.shape("model.layers.0.self_attn.q_proj.weight"), (Shape{1024, 2880}));
    EXPECT_EQ(p.shape("model.layers.0.self_attn.q_proj.bias"), (Shape{1024}));
    EXPECT_EQ(p.shape("model.layers.0.self_attn.k_proj.bias"), (Shape{128}));
    EXPECT_EQ(p.shape("model.layers.0.self_attn.o_proj.weight"), (Shape{2880, 1024}));
    EXPECT_EQ(p.at("model.layers.0.self_attn.o_proj.bias").strategy, Strategy::row);  // a row bias: whole
    EXPECT_EQ(p.shape("model.layers.0.self_attn.o_proj.bias", 3), (Shape{2880}));
    EXPECT_EQ(p.at("model.layers.0.mlp.router.weight").strategy, Strategy::replicate);
    EXPECT_EQ(p.at("model.layers.0.mlp.router.bias").strategy, Strategy::replicate);
    EXPECT_EQ(p.shape("model.embed_tokens.weight"), (Shape{50272, 2880}));
    EXPECT_EQ(p.shape("lm_head.weight"), (Shape{50272, 2880}));
    // W = 8: 12 blocks a rank, the last 6; with 8 KV heads each rank has one.
    Planned p8 = plan(c, specs, 8);
    ASSERT_TRUE(p8.plan.has_value());
    EXPECT_EQ(p8.shape(x + "gate_up_proj_blocks", 7), (Shape{e, 384, 90, 16}));
    EXPECT_EQ(p8.shape(x + "down_proj_blocks", 7), (Shape{e, 2880, 6, 16}));
    EXPECT_EQ(p8.shape("model.layers.0.self_attn.v_proj.weight", 7), (Shape{64, 2880}));
  }
}

TEST(FrontierFamilies, GptOssAtTp16LeavesTheLastRankNoExpertBlocks) {
  // 90 blocks, 6 a rank: ranks 0-14 take all of them, rank 15 an empty slice (as vLLM's
  // loader narrows to nothing there).
  ModelConfig c = testing::testdata_config("openai--gpt-oss-20b", 1);
  Planned p = plan(c, testing::gpt_oss_specs(c), 16);
  ASSERT_TRUE(p.plan.has_value()) << p.plan.error().to_string();
  const std::string x = "model.layers.0.mlp.experts.";
  EXPECT_EQ(p.shape(x + "gate_up_proj_blocks", 14), (Shape{32, 384, 90, 16}));
  EXPECT_EQ(p.shape(x + "gate_up_proj_blocks", 15), (Shape{32, 0, 90, 16}));
  EXPECT_EQ(p.shape(x + "down_proj_scales", 15), (Shape{32, 2880, 0}));
  Result<RankPlan> last = rank_plan(*p.plan, 15);
  ASSERT_TRUE(last.has_value()) << last.error().to_string();
  for (const RankTensor& t : last->tensors) {
    if (t.name != x + "gate_up_proj_blocks") continue;
    EXPECT_EQ(t.bytes, 0u);
    EXPECT_TRUE(t.runs.empty());
  }
}

TEST(FrontierFamilies, Llama4ScoutSplitsTheTransposedFusedExpertsInTwoBlocks) {
  ModelConfig c = testing::testdata_config("meta-llama--Llama-4-Scout-17B-16E-Instruct__UNVERIFIED", 2);
  const auto specs = testing::llama4_specs(c, true);
  // 40 query heads, 8 KV heads: W must divide 40 and divide (or be a multiple of) 8.
  expect_world_sizes(c, specs, {1, 2, 4, 8}, "is not divisible by tp");
  Planned p = plan(c, specs, 8);
  ASSERT_TRUE(p.plan.has_value()) << p.plan.error().to_string();
  const std::string l = "language_model.model.layers.1.";
  const TensorPlan& gate_up = p.at(l + "feed_forward.experts.gate_up_proj");
  EXPECT_EQ(gate_up.strategy, Strategy::gate_up_blocks);
  for (u64 r = 0; r < 8; ++r) {
    EXPECT_EQ(gate_up.ranks[r].dim, 2);
    EXPECT_EQ(gate_up.ranks[r].ranges, (Ranges{{r * 1024, 1024}, {8192 + r * 1024, 1024}})) << r;
  }
  EXPECT_EQ(p.shape(l + "feed_forward.experts.gate_up_proj"), (Shape{16, 5120, 2048}));
  EXPECT_EQ(p.shape(l + "feed_forward.experts.down_proj", 7), (Shape{16, 1024, 5120}));
  EXPECT_EQ(p.at(l + "feed_forward.experts.down_proj").ranks[7].ranges, (Ranges{{7168, 1024}}));
  EXPECT_EQ(p.at(l + "feed_forward.router.weight").strategy, Strategy::replicate);
  EXPECT_EQ(p.shape(l + "feed_forward.shared_expert.up_proj.weight"), (Shape{1024, 5120}));
  EXPECT_EQ(p.shape(l + "feed_forward.shared_expert.down_proj.weight"), (Shape{5120, 1024}));
  EXPECT_EQ(p.shape(l + "self_attn.q_proj.weight"), (Shape{640, 5120}));
  EXPECT_EQ(p.shape(l + "self_attn.k_proj.weight"), (Shape{128, 5120}));
  EXPECT_EQ(p.shape(l + "self_attn.o_proj.weight"), (Shape{5120, 640}));
  EXPECT_EQ(p.shape("language_model.lm_head.weight"), (Shape{25256, 5120}));
  // vLLM's text path does not cover the vision tower: hubload replicates it (as vLLM's
  // --mm-encoder-tp-mode data does), every tensor whole on every rank.
  for (const char* n : {"vision_model.model.layers.0.self_attn.q_proj.weight", "vision_model.patch_embedding.linear.weight",
                        "vision_model.model.layers.0.self_attn.q_proj.bias", "multi_modal_projector.linear_1.weight"}) {
    EXPECT_EQ(p.at(n).strategy, Strategy::replicate) << n;
    EXPECT_EQ(p.shape(n, 7), p.at(n).info.shape) << n;
  }
}

TEST(FrontierFamilies, Llama4MaverickFp8SplitsPerExpertWeightsWithTheirChannelScales) {
  // interleave_moe_layer_step 2: layer 0 dense (intermediate_size_mlp 16384), layer 1 MoE.
  ModelConfig c = testing::testdata_config("meta-llama--Llama-4-Maverick-17B-128E-Instruct-FP8", 2);
  ASSERT_TRUE(c.quantization.has_value());
  const auto specs = testing::llama4_specs(c, false);
  expect_world_sizes(c, specs, {1, 2, 4, 8}, "is not divisible by tp");
  Planned p = plan(c, specs, 8);
  ASSERT_TRUE(p.plan.has_value()) << p.plan.error().to_string();
  const std::string l = "language_model.model.layers.";
  EXPECT_EQ(p.shape(l + "0.feed_forward.gate_proj.weight"), (Shape{2048, 5120}));
  EXPECT_EQ(p.shape(l + "0.feed_forward.down_proj.weight"), (Shape{5120, 2048}));
  EXPECT_EQ(p.shape(l + "1.feed_forward.experts.127.gate_proj.weight"), (Shape{1024, 5120}));
  EXPECT_EQ(p.shape(l + "1.feed_forward.experts.127.gate_proj.weight_scale"), (Shape{1024, 1}));
  EXPECT_EQ(p.shape(l + "1.feed_forward.experts.0.down_proj.weight"), (Shape{5120, 1024}));
  EXPECT_EQ(p.shape(l + "1.feed_forward.experts.0.down_proj.weight_scale", 7), (Shape{5120, 1}));  // per channel: whole
  EXPECT_EQ(p.shape(l + "1.feed_forward.shared_expert.gate_proj.weight"), (Shape{1024, 5120}));
}

TEST(FrontierFamilies, Qwen3NextSplitsLinearAttentionSectionsAndTheMtpLayer) {
  // 3 linear-attention layers and 1 full-attention layer (full_attention_interval 4), then MTP.
  ModelConfig c = testing::testdata_config("Qwen--Qwen3-Next-80B-A3B-Thinking", 4);
  const auto specs = testing::qwen3_next_specs(c);
  expect_world_sizes(c, specs, {1, 2, 4, 8}, "num_attention_heads 16 is not divisible by tp");
  Planned p = plan(c, specs, 8);
  ASSERT_TRUE(p.plan.has_value()) << p.plan.error().to_string();
  const std::string a = "model.layers.0.linear_attn.";
  EXPECT_EQ(p.shape(a + "in_proj_qkvz.weight"), (Shape{1536, 2048}));
  EXPECT_EQ(p.shape(a + "in_proj_ba.weight"), (Shape{8, 2048}));
  const TensorPlan& conv = p.at(a + "conv1d.weight");
  EXPECT_EQ(conv.strategy, Strategy::conv_qkv);
  EXPECT_EQ(conv.ranks[3].ranges, (Ranges{{768, 256}, {2048 + 768, 256}, {4096 + 1536, 512}}));
  EXPECT_EQ(p.shape(a + "conv1d.weight"), (Shape{1024, 1, 4}));
  EXPECT_EQ(p.shape(a + "A_log"), (Shape{4}));
  EXPECT_EQ(p.shape(a + "dt_bias"), (Shape{4}));
  EXPECT_EQ(p.at(a + "norm.weight").strategy, Strategy::replicate);
  EXPECT_EQ(p.shape(a + "out_proj.weight"), (Shape{2048, 512}));
  const std::string f = "model.layers.3.self_attn.";  // query and gate per head: 2 heads of 2·256 rows a rank
  EXPECT_EQ(p.shape(f + "q_proj.weight"), (Shape{1024, 2048}));
  EXPECT_EQ(p.at(f + "q_proj.weight").ranks[1].ranges, (Ranges{{1024, 1024}}));
  EXPECT_EQ(p.shape(f + "k_proj.weight", 7), (Shape{256, 2048}));  // 2 KV heads replicated over 8 ranks
  EXPECT_EQ(p.at(f + "k_proj.weight").ranks[7].ranges, (Ranges{{256, 256}}));
  EXPECT_EQ(p.shape(f + "o_proj.weight"), (Shape{2048, 512}));
  EXPECT_EQ(p.at(f + "q_norm.weight").strategy, Strategy::replicate);
  EXPECT_EQ(p.at("model.layers.0.mlp.gate.weight").strategy, Strategy::replicate);
  EXPECT_EQ(p.at("model.layers.0.mlp.shared_expert_gate.weight").strategy, Strategy::replicate);
  EXPECT_EQ(p.shape("model.layers.0.mlp.shared_expert.gate_proj.weight"), (Shape{64, 2048}));
  EXPECT_EQ(p.shape("model.layers.0.mlp.experts.511.down_proj.weight"), (Shape{2048, 64}));
  EXPECT_EQ(p.shape("mtp.fc.weight"), (Shape{256, 4096}));
  EXPECT_EQ(p.at("mtp.pre_fc_norm_embedding.weight").strategy, Strategy::replicate);
  EXPECT_EQ(p.at("mtp.pre_fc_norm_hidden.weight").strategy, Strategy::replicate);
  EXPECT_EQ(p.shape("mtp.layers.0.self_attn.q_proj.weight"), (Shape{1024, 2048}));
  EXPECT_EQ(p.shape("mtp.layers.0.mlp.experts.0.gate_proj.weight"), (Shape{64, 2048}));
  EXPECT_EQ(p.shape("lm_head.weight"), (Shape{18992, 2048}));
}

TEST(FrontierFamilies, Qwen3NextLinearHeadsMustDivideByW) {
  ModelConfig c = testing::testdata_config("Qwen--Qwen3-Next-80B-A3B-Thinking", 4);
  TpValidation v = validate_tensor_parallel(c, 32);
  std::string all;
  for (const TpProblem& p : v.problems) all += p.message + "\n";
  EXPECT_NE(all.find("linear_num_key_heads 16 is not divisible by tp 32"), std::string::npos) << all;
  EXPECT_EQ(all.find("linear_num_value_heads"), std::string::npos) << all;
}

}  // namespace
}  // namespace hubload
