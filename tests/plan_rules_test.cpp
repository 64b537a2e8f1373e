// Hand-worked examples of tensor-parallel.md (byte runs, vocab padding, KV
// replication, fused layouts at real sizes) and every planner error.
#include <gtest/gtest.h>

#include "hubload/plan.h"
#include "support/error_expect.h"
#include "support/tp_models.h"

namespace hubload {
namespace {

CheckpointTensor tensor(std::string name, std::vector<std::uint64_t> shape, std::uint64_t offset,
                        DType dtype = DType::BF16) {
  TensorInfo info;
  info.name = std::move(name);
  info.dtype = dtype;
  info.shape = std::move(shape);
  info.offset = offset;
  std::uint64_t n = 2;
  for (auto d : info.shape) n *= d;
  info.size = n;
  return {info, "model.safetensors"};
}

ModelConfig llama3_8b() {
  return testing::tiny_config("llama", {.hidden = 4096, .heads = 32, .kv_heads = 8, .head_dim = 128,
                                        .intermediate = 14336, .vocab = 128256, .layers = 1});
}

std::vector<CheckpointTensor> llama_layer(std::uint64_t V) {
  std::vector<CheckpointTensor> t;
  std::uint64_t off = 8;
  auto add = [&](std::string n, std::vector<std::uint64_t> s) {
    t.push_back(tensor(std::move(n), std::move(s), off));
    off += t.back().info.size;
  };
  add("model.embed_tokens.weight", {V, 4096});
  add("model.layers.0.input_layernorm.weight", {4096});
  add("model.layers.0.self_attn.q_proj.weight", {4096, 4096});
  add("model.layers.0.self_attn.k_proj.weight", {1024, 4096});
  add("model.layers.0.self_attn.v_proj.weight", {1024, 4096});
  add("model.layers.0.self_attn.o_proj.weight", {4096, 4096});
  add("model.layers.0.post_attention_layernorm.weight", {4096});
  add("model.layers.0.mlp.gate_proj.weight", {14336, 4096});
  add("model.layers.0.mlp.up_proj.weight", {14336, 4096});
  add("model.layers.0.mlp.down_proj.weight", {4096, 14336});
  add("model.norm.weight", {4096});
  add("lm_head.weight", {V, 4096});
  return t;
}

const RankTensor& find(const RankPlan& p, const std::string& name) {
  for (const RankTensor& t : p.tensors)
    if (t.name == name) return t;
  throw std::runtime_error("missing " + name);
}

PlanOptions tp(int w) {
  PlanOptions o;
  o.world_size = w;
  return o;
}

TEST(ByteRuns, ColumnSplitIsOneRunAndRowSplitIsOneRunPerRow) {
  auto tensors = llama_layer(128256);
  ShardPlan plan = *plan_tensor_parallel(llama3_8b(), tensors, tp(2));
  RankPlan r1 = *rank_plan(plan, 1);
  const CheckpointTensor& q = tensors[2];
  const RankTensor& rq = find(r1, q.info.name);
  ASSERT_EQ(rq.runs.size(), 1u);  // rows [2048, 4096) of [4096, 4096] bf16
  EXPECT_EQ(rq.runs[0], (ByteRun{q.info.offset + 2048ull * 4096 * 2, 2048ull * 4096 * 2, 0}));
  EXPECT_EQ(rq.shape, (std::vector<std::uint64_t>{2048, 4096}));

  const CheckpointTensor& o = tensors[5];
  const RankTensor& ro = find(r1, o.info.name);
  ASSERT_EQ(ro.runs.size(), 4096u);  // columns [2048, 4096) of each of 4096 rows
  EXPECT_EQ(ro.runs[0], (ByteRun{o.info.offset + 4096, 4096, 0}));
  EXPECT_EQ(ro.runs[4095], (ByteRun{o.info.offset + 4095ull * 8192 + 4096, 4096, 4095ull * 4096}));
  EXPECT_EQ(r1.bytes_to_read(), r1.bytes_out());  // no padding at W = 2
}

TEST(ByteRuns, KvHeadsReplicateWhenRanksExceedKvHeads) {
  auto tensors = llama_layer(128256);
  ShardPlan plan = *plan_tensor_parallel(llama3_8b(), tensors, tp(16));
  for (int r : {0, 1, 6, 7, 15}) {
    RankPlan rp = *rank_plan(plan, r);
    const RankTensor& k = find(rp, "model.layers.0.self_attn.k_proj.weight");
    ASSERT_EQ(k.runs.size(), 1u);  // rows [128·(r/2), +128)  (§6.3)
    EXPECT_EQ(k.runs[0].file_offset, tensors[3].info.offset + 128ull * (r / 2) * 4096 * 2) << r;
    EXPECT_EQ(k.runs[0].length, 128ull * 4096 * 2);
  }
}

TEST(ByteRuns, Gpt2VocabIsPaddedToLcm64AndZeroFilled) {
  ModelConfig c = testing::tiny_config("gpt2", {.hidden = 768, .heads = 12, .vocab = 50257, .layers = 0, .tied = true});
  std::vector<CheckpointTensor> t = {tensor("wte.weight", {50257, 768}, 8, DType::F32)};
  t[0].info.size = 50257ull * 768 * 4;
  ShardPlan plan = *plan_tensor_parallel(c, t, tp(2));
  RankPlan r0 = *rank_plan(plan, 0), r1 = *rank_plan(plan, 1);
  // §4: P = 50304; rank 0 rows [0, 25152); rank 1 rows [25152, 50257) + 47 zero rows.
  EXPECT_EQ(r0.tensors[0].shape, (std::vector<std::uint64_t>{25152, 768}));
  EXPECT_TRUE(r0.tensors[0].zero_fill.empty());
  EXPECT_EQ(r1.tensors[0].shape, (std::vector<std::uint64_t>{25152, 768}));
  EXPECT_EQ(r1.tensors[0].runs[0], (ByteRun{8 + 25152ull * 768 * 4, 25105ull * 768 * 4, 0}));
  ASSERT_EQ(r1.tensors[0].zero_fill.size(), 1u);
  EXPECT_EQ(r1.tensors[0].zero_fill[0], (SliceRange{25105ull * 768 * 4, 47ull * 768 * 4}));

  PlanOptions no_pad = tp(2);
  no_pad.vocab_pad_multiple = 0;
  EXPECT_TRUE(testing::fails_with(plan_tensor_parallel(c, t, no_pad), ErrorKind::invalid_plan, "wte.weight"));
}

TEST(ByteRuns, Phi3MiniQkvAndGateUpRowsMatchTheDocument) {
  ModelConfig c = testing::tiny_config("phi3", {.hidden = 3072, .heads = 32, .kv_heads = 32, .head_dim = 96,
                                                .intermediate = 8192, .vocab = 32064, .layers = 0});
  std::vector<CheckpointTensor> t = {tensor("model.embed_tokens.weight", {32064, 3072}, 8),
                                     tensor("model.norm.weight", {3072}, 0),
                                     tensor("lm_head.weight", {32064, 3072}, 0),
                                     tensor("model.layers.0.self_attn.qkv_proj.weight", {9216, 3072}, 1000),
                                     tensor("model.layers.0.mlp.gate_up_proj.weight", {16384, 3072}, 0)};
  ShardPlan plan = *plan_tensor_parallel(c, t, tp(2));
  // §7.1: rank r: q rows [1536r, +1536), k [3072 + 1536r, +1536), v [6144 + 1536r, +1536);
  // gate [4096r, +4096), up [8192 + 4096r, +4096).
  for (std::uint64_t r = 0; r < 2; ++r) {
    const TensorSlice& qkv = plan.tensors[3].ranks[r];
    EXPECT_EQ(qkv.ranges, (std::vector<SliceRange>{{1536 * r, 1536}, {3072 + 1536 * r, 1536}, {6144 + 1536 * r, 1536}}));
    const TensorSlice& gu = plan.tensors[4].ranks[r];
    EXPECT_EQ(gu.ranges, (std::vector<SliceRange>{{4096 * r, 4096}, {8192 + 4096 * r, 4096}}));
  }
  RankPlan r1 = *rank_plan(plan, 1);
  const RankTensor& q1 = find(r1, "model.layers.0.self_attn.qkv_proj.weight");
  ASSERT_EQ(q1.runs.size(), 3u);
  EXPECT_EQ(q1.runs[1], (ByteRun{1000 + (3072ull + 1536) * 3072 * 2, 1536ull * 3072 * 2, 1536ull * 3072 * 2}));
}

TEST(ByteRuns, Falcon40bAtW16ReadsThreeRunsPerRank) {
  ModelConfig c = testing::tiny_config("falcon", {.hidden = 8192, .heads = 128, .kv_heads = 8, .head_dim = 64,
                                                  .intermediate = 32768, .vocab = 65024, .layers = 0, .tied = true});
  std::vector<CheckpointTensor> t = {tensor("transformer.word_embeddings.weight", {65024, 8192}, 8),
                                     tensor("transformer.h.0.self_attention.query_key_value.weight", {9216, 8192}, 0)};
  ShardPlan plan = *plan_tensor_parallel(c, t, tp(16));
  for (std::uint64_t r : {0ull, 5ull}) {  // §7.3: g = r/2; q [1152g + 512(r%2), +512), k [1152g+1024, +64), v [+1088]
    std::uint64_t g = r / 2;
    EXPECT_EQ(plan.tensors[1].ranks[r].ranges,
              (std::vector<SliceRange>{{1152 * g + 512 * (r % 2), 512}, {1152 * g + 1024, 64}, {1152 * g + 1088, 64}}));
  }
  ShardPlan w8 = *plan_tensor_parallel(c, t, tp(8));
  EXPECT_EQ(w8.tensors[1].ranks[3].ranges, (std::vector<SliceRange>{{1152 * 3, 1152}}));
}

TEST(RowBias, Rank0ConventionDropsTheBiasFromOtherRanks) {
  testing::TinyDims d;
  ModelConfig c = testing::tiny_config("opt", d);
  auto ck = testing::make_checkpoint(testing::tiny_specs(c, d), DType::F32);
  PlanOptions o = tp(2);
  ShardPlan all = *plan_tensor_parallel(c, ck.tensors, o);
  o.row_bias = RowBias::rank0;
  ShardPlan rank0 = *plan_tensor_parallel(c, ck.tensors, o);
  const std::string bias = "model.decoder.layers.0.fc2.bias";
  auto has = [&](const ShardPlan& p, int r) {
    RankPlan rp = *rank_plan(p, r);
    for (const RankTensor& t : rp.tensors)
      if (t.name == bias) return true;
    return false;
  };
  EXPECT_TRUE(has(all, 0));
  EXPECT_TRUE(has(all, 1));
  EXPECT_TRUE(has(rank0, 0));
  EXPECT_FALSE(has(rank0, 1));
}

// ---- errors -------------------------------------------------------------------

struct Tiny {
  ModelConfig config;
  testing::TinyCheckpoint ck;
};
Tiny tiny(const std::string& family) {
  testing::TinyDims d;
  Tiny t{testing::tiny_config(family, d), {}};
  t.ck = testing::make_checkpoint(testing::tiny_specs(t.config, d), DType::F32);
  return t;
}

TEST(PlanErrors, WorldSizeZeroIsAnInvalidPlan) {
  Tiny t = tiny("llama");
  EXPECT_TRUE(testing::fails_with(plan_tensor_parallel(t.config, t.ck.tensors, tp(0)), ErrorKind::invalid_plan));
}

TEST(PlanErrors, WorldSizeAboveTheHeadCountIsAnInvalidPlan) {
  Tiny t = tiny("llama");  // 8 query heads
  EXPECT_TRUE(testing::fails_with(plan_tensor_parallel(t.config, t.ck.tensors, tp(16)), ErrorKind::invalid_plan,
                                  "num_attention_heads"));
}

TEST(PlanErrors, SplitDimensionNotDivisibleNamesTheTensor) {
  Tiny t = tiny("llama");
  CheckpointTensor odd = tensor("model.layers.0.extra.weight", {7, 32}, 0, DType::F32);
  t.ck.tensors.push_back(odd);
  PlanOptions o = tp(2);
  o.rules_json = R"({"rules": [{"pattern": "\\.extra\\.weight$", "strategy": "column"}]})";
  Result<ShardPlan> p = plan_tensor_parallel(t.config, t.ck.tensors, o);
  EXPECT_TRUE(testing::fails_with(p, ErrorKind::invalid_plan, "model.layers.0.extra.weight"));
  EXPECT_TRUE(testing::fails_with(p, ErrorKind::invalid_plan, "size 7 is not divisible by tp 2"));
}

TEST(PlanErrors, MissingExpectedTensorIsNotFound) {
  Tiny t = tiny("llama");
  std::erase_if(t.ck.tensors, [](const CheckpointTensor& c) { return c.info.name == "model.layers.1.self_attn.o_proj.weight"; });
  EXPECT_TRUE(testing::fails_with(plan_tensor_parallel(t.config, t.ck.tensors, tp(2)), ErrorKind::not_found,
                                  "model.layers.1.self_attn.o_proj.weight"));
}

TEST(PlanErrors, UntiedModelWithoutLmHeadIsNotFound) {
  Tiny t = tiny("llama");  // untied
  std::erase_if(t.ck.tensors, [](const CheckpointTensor& c) { return c.info.name == "lm_head.weight"; });
  EXPECT_TRUE(testing::fails_with(plan_tensor_parallel(t.config, t.ck.tensors, tp(2)), ErrorKind::not_found, "lm_head"));
}

TEST(PlanErrors, RulesFileWithABadPatternIsInvalidInput) {
  Tiny t = tiny("llama");
  PlanOptions o = tp(2);
  o.rules_source = "my-rules.json";
  o.rules_json = R"({"rules": [{"pattern": "([unclosed", "strategy": "column"}]})";
  EXPECT_TRUE(testing::fails_with(plan_tensor_parallel(t.config, t.ck.tensors, o), ErrorKind::invalid_input,
                                  "my-rules.json: rules[0]"));

  o.rules_json = R"({"rules": [{"pattern": "x", "strategy": "diagonal"}]})";
  EXPECT_TRUE(testing::fails_with(plan_tensor_parallel(t.config, t.ck.tensors, o), ErrorKind::invalid_input,
                                  "unknown strategy 'diagonal'"));
}

TEST(PlanErrors, UnmatchedTensorsAreListedUnlessReplicated) {
  Tiny t = tiny("llama");
  t.ck.tensors.push_back(tensor("model.mystery_a", {4}, 0, DType::F32));
  t.ck.tensors.push_back(tensor("model.mystery_b", {4}, 0, DType::F32));
  Result<ShardPlan> p = plan_tensor_parallel(t.config, t.ck.tensors, tp(2));
  EXPECT_TRUE(testing::fails_with(p, ErrorKind::unsupported, "model.mystery_a"));
  EXPECT_TRUE(testing::fails_with(p, ErrorKind::unsupported, "model.mystery_b"));

  PlanOptions o = tp(2);
  o.replicate_unmatched = true;
  ShardPlan ok = *plan_tensor_parallel(t.config, t.ck.tensors, o);
  EXPECT_EQ(ok.tensors.back().strategy, Strategy::replicate);
}

TEST(PlanErrors, RulesFileOverridesAndExtendsUnknownFamilies) {
  Tiny t = tiny("llama");
  t.config.model_type = "mystery";
  PlanOptions o = tp(2);
  EXPECT_TRUE(testing::fails_with(plan_tensor_parallel(t.config, t.ck.tensors, o), ErrorKind::unsupported));
  o.rules_json = R"({"rules": [{"pattern": "_proj\\.weight$", "strategy": "row", "dim": 0},
                               {"pattern": ".", "strategy": "replicate"}]})";
  ShardPlan plan = *plan_tensor_parallel(t.config, t.ck.tensors, o);
  for (const TensorPlan& tp : plan.tensors) {
    bool proj = tp.name.ends_with("_proj.weight");
    EXPECT_EQ(tp.strategy, proj ? Strategy::row : Strategy::replicate) << tp.name;
    if (proj) {
      EXPECT_EQ(tp.ranks[0].dim, 0);
    }
  }
}

TEST(PlanErrors, RankOutsideTheWorldIsInvalidInput) {
  Tiny t = tiny("llama");
  ShardPlan plan = *plan_tensor_parallel(t.config, t.ck.tensors, tp(2));
  EXPECT_TRUE(testing::fails_with(rank_plan(plan, 2), ErrorKind::invalid_input));
}

}  // namespace
}  // namespace hubload
