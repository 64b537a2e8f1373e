// Plans for the frontier families and quantized layouts from the real configs
// (layer counts cut down where noted, so the lists stay small) and the published
// tensor names: every split as vLLM makes it, and every W vLLM refuses refused
// before anything is read, with the tensor, unit and W in the message.
#include <gtest/gtest.h>

#include <map>

#include "hubload/plan.h"
#include "plan/expert_parallel.h"
#include "support/test_support.h"
#include "support/tp_models.h"

namespace hubload {
namespace {

using u64 = std::uint64_t;
using Shape = std::vector<u64>;

ModelConfig load(const std::string& dir, std::optional<std::int64_t> layers = std::nullopt) {
  return testing::testdata_config(dir, layers);
}

Result<ShardPlan> plan(const ModelConfig& c, const std::vector<TensorSpec>& specs, int w) {
  PlanOptions o;
  o.world_size = w;
  return plan_tensor_parallel(c, testing::spec_tensors(specs), o);
}

std::map<std::string, const TensorPlan*> by_name(const ShardPlan& p) {
  std::map<std::string, const TensorPlan*> m;
  for (const TensorPlan& t : p.tensors) m[t.name] = &t;
  return m;
}


TEST(PlanFrontier, DeepSeekV3Fp8SplitsMlaExpertsScalesAndMtp) {
  // 3 dense + 2 MoE layers of the real V3 config, then its MTP layer (numbered 5).
  ModelConfig c = load("deepseek-ai--DeepSeek-V3", 5);
  auto p = plan(c, testing::deepseek_specs(c, true), 8);
  ASSERT_TRUE(p.has_value()) << p.error().to_string();
  auto t = by_name(*p);
  auto shape0 = [&](const std::string& n) { return t.at(n)->rank_shape(0); };
  auto strategy = [&](const std::string& n) { return t.at(n)->strategy; };
  // MLA: q_b_proj and kv_b_proj by heads (16 of 128 per rank), o_proj row; the latent
  // projections and their scales whole on every rank (kv_a's 576 rows: a partial block).
  EXPECT_EQ(strategy("model.layers.0.self_attn.q_b_proj.weight"), Strategy::q_heads);
  EXPECT_EQ(shape0("model.layers.0.self_attn.q_b_proj.weight"), (Shape{16 * 192, 1536}));
  EXPECT_EQ(shape0("model.layers.0.self_attn.q_b_proj.weight_scale_inv"), (Shape{24, 12}));
  EXPECT_EQ(shape0("model.layers.0.self_attn.kv_b_proj.weight"), (Shape{16 * 256, 512}));
  EXPECT_EQ(shape0("model.layers.0.self_attn.kv_b_proj.weight_scale_inv"), (Shape{32, 4}));
  EXPECT_EQ(shape0("model.layers.0.self_attn.o_proj.weight"), (Shape{7168, 16 * 128}));
  EXPECT_EQ(shape0("model.layers.0.self_attn.o_proj.weight_scale_inv"), (Shape{56, 16}));
  EXPECT_EQ(strategy("model.layers.0.self_attn.kv_a_proj_with_mqa.weight"), Strategy::replicate);
  EXPECT_EQ(strategy("model.layers.0.self_attn.kv_a_proj_with_mqa.weight_scale_inv"), Strategy::replicate);
  EXPECT_EQ(shape0("model.layers.0.self_attn.kv_a_proj_with_mqa.weight_scale_inv"), (Shape{5, 56}));
  EXPECT_EQ(strategy("model.layers.0.self_attn.q_a_proj.weight"), Strategy::replicate);
  // Dense MLP (layers < first_k_dense_replace) and experts: gate/up column, down row.
  EXPECT_EQ(shape0("model.layers.0.mlp.down_proj.weight"), (Shape{7168, 2304}));
  EXPECT_EQ(shape0("model.layers.0.mlp.down_proj.weight_scale_inv"), (Shape{56, 18}));
  EXPECT_EQ(shape0("model.layers.3.mlp.experts.255.gate_proj.weight"), (Shape{256, 7168}));
  EXPECT_EQ(shape0("model.layers.3.mlp.experts.255.gate_proj.weight_scale_inv"), (Shape{2, 56}));
  EXPECT_EQ(shape0("model.layers.3.mlp.experts.0.down_proj.weight_scale_inv"), (Shape{56, 2}));
  EXPECT_EQ(shape0("model.layers.3.mlp.shared_experts.up_proj.weight"), (Shape{256, 7168}));
  EXPECT_EQ(strategy("model.layers.3.mlp.gate.weight"), Strategy::replicate);
  EXPECT_EQ(strategy("model.layers.3.mlp.gate.e_score_correction_bias"), Strategy::replicate);
  // The MTP layer: decoder rules, plus its replicated glue and vocab-parallel head.
  EXPECT_EQ(strategy("model.layers.5.mlp.experts.7.up_proj.weight"), Strategy::column);
  EXPECT_EQ(strategy("model.layers.5.eh_proj.weight"), Strategy::replicate);
  EXPECT_EQ(strategy("model.layers.5.enorm.weight"), Strategy::replicate);
  EXPECT_EQ(strategy("model.layers.5.shared_head.head.weight"), Strategy::vocab);
  EXPECT_EQ(strategy("model.layers.5.embed_tokens.weight"), Strategy::vocab);
  EXPECT_EQ(strategy("lm_head.weight"), Strategy::vocab);
  // Every rank's scale rows cover exactly its weight rows, in 128-blocks.
  const TensorPlan& w = *t.at("model.layers.3.mlp.experts.9.up_proj.weight");
  const TensorPlan& s = *t.at("model.layers.3.mlp.experts.9.up_proj.weight_scale_inv");
  for (int r = 0; r < 8; ++r) {
    ASSERT_EQ(w.ranks[r].ranges.size(), 1u);
    EXPECT_EQ(s.ranks[r].ranges[0].start * 128, w.ranks[r].ranges[0].start);
    EXPECT_EQ(s.ranks[r].ranges[0].length * 128, w.ranks[r].ranges[0].length);
  }
}

TEST(PlanFrontier, DeepSeekV3AtTp32IsRefusedByTheExpertBlock) {
  ModelConfig c = load("deepseek-ai--DeepSeek-V3", 4);
  auto p = plan(c, testing::deepseek_specs(c, true), 32);
  ASSERT_FALSE(p.has_value());
  EXPECT_EQ(p.error().kind(), ErrorKind::invalid_plan);
  const std::string& m = p.error().message();
  // vLLM: the expert width 2048 / 32 = 64 is not a multiple of block_n 128.
  EXPECT_NE(m.find("tensor 'model.layers.3.mlp.experts.0.gate_proj.weight_scale_inv': tp 32 gives rank 0 64 of the "
                   "2048 rows of 'model.layers.3.mlp.experts.0.gate_proj.weight'"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("not a multiple of its FP8 block 128x128 (128 rows); tp that keep whole units: 1, 2, 4, 8, 16"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("or plan with expert parallelism"), std::string::npos);
  // And the dense down_proj: 18432 / 32 = 576 input columns.
  EXPECT_NE(m.find("tp 32 gives rank 0 576 of the 18432 columns of 'model.layers.0.mlp.down_proj.weight'"),
            std::string::npos)
      << m;
  // The same layout unquantized splits at 32.
  auto bf16 = plan(c, testing::deepseek_specs(c, false), 32);
  EXPECT_TRUE(bf16.has_value()) << bf16.error().to_string();
}

TEST(PlanFrontier, KimiK2PlansThroughItsArchitectureAndRefusesTp64) {
  auto c = std::optional<ModelConfig>(testing::kimi_k2_config());
  c->num_hidden_layers = 2;
  auto p = plan(*c, testing::deepseek_specs(*c, true), 8);
  ASSERT_TRUE(p.has_value()) << p.error().to_string();
  EXPECT_EQ(p->model_type, "kimi_k2");
  auto t = by_name(*p);
  EXPECT_EQ(t.at("model.layers.1.mlp.experts.383.down_proj.weight")->rank_shape(7), (Shape{7168, 256}));
  EXPECT_EQ(t.at("model.layers.0.self_attn.q_b_proj.weight")->rank_shape(7), (Shape{8 * 192, 1536}));
  // 64 heads at tp 64: one head, 192 q_b rows per rank, not whole 128-blocks.
  auto bad = plan(*c, testing::deepseek_specs(*c, true), 64);
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message().find("192 of the 12288 rows of 'model.layers.0.self_attn.q_b_proj.weight'"),
            std::string::npos)
      << bad.error().message();
}

TEST(PlanFrontier, DeepSeekV2LiteSplitsQProjByHeads) {
  ModelConfig c = load("deepseek-ai--DeepSeek-V2-Lite-Chat", 2);
  auto p = plan(c, testing::deepseek_specs(c, false), 16);
  ASSERT_TRUE(p.has_value()) << p.error().to_string();
  auto t = by_name(*p);
  EXPECT_EQ(t.at("model.layers.0.self_attn.q_proj.weight")->rank_shape(3), (Shape{192, 2048}));
  EXPECT_EQ(t.at("model.layers.1.mlp.shared_experts.gate_proj.weight")->rank_shape(3), (Shape{2816 / 16, 2048}));
}

TEST(PlanFrontier, Qwen3MoeFp8AtTp4IsRefusedAsVllmDoes) {
  ModelConfig c = load("Qwen--Qwen3-30B-A3B-FP8", 1);
  auto ok2 = plan(c, testing::quantized_llama_specs(c), 2);  // 768 / 2 = 384: three blocks
  ASSERT_TRUE(ok2.has_value()) << ok2.error().to_string();
  auto p = plan(c, testing::quantized_llama_specs(c), 4);  // 768 / 4 = 192
  ASSERT_FALSE(p.has_value());
  EXPECT_EQ(p.error().kind(), ErrorKind::invalid_plan);
  EXPECT_NE(p.error().message().find("tensor 'model.layers.0.mlp.experts.0.gate_proj.weight_scale_inv': tp 4 gives "
                                     "rank 0 192 of the 768 rows"),
            std::string::npos)
      << p.error().message();
  EXPECT_NE(p.error().message().find("tp that keep whole units: 1, 2, 3, 6"), std::string::npos)
      << p.error().message();
}

TEST(PlanFrontier, PrequantizedBitsAndBytesIsRefusedAboveTp1) {
  auto c = parse_model_config(R"({"model_type": "llama", "hidden_size": 64, "num_attention_heads": 4,
    "num_hidden_layers": 1, "intermediate_size": 128, "vocab_size": 64,
    "quantization_config": {"quant_method": "bitsandbytes", "load_in_4bit": true}})",
                              "bnb.json");
  ASSERT_TRUE(c.has_value());
  std::vector<TensorSpec> specs = {{"model.embed_tokens.weight", DType::BF16, {64, 64}},
                                   {"model.layers.0.input_layernorm.weight", DType::BF16, {64}},
                                   {"model.layers.0.self_attn.q_proj.weight", DType::U8, {2048, 1}},
                                   {"model.layers.0.self_attn.q_proj.weight.absmax", DType::F32, {64}},
                                   {"model.layers.0.self_attn.q_proj.weight.quant_map", DType::F32, {16}},
                                   {"model.layers.0.self_attn.o_proj.weight", DType::U8, {2048, 1}},
                                   {"model.norm.weight", DType::BF16, {64}},
                                   {"lm_head.weight", DType::BF16, {64, 64}}};
  auto p = plan(*c, specs, 2);
  ASSERT_FALSE(p.has_value());
  EXPECT_EQ(p.error().kind(), ErrorKind::invalid_plan);
  EXPECT_NE(p.error().message().find("pre-quantized with bitsandbytes"), std::string::npos);
  EXPECT_NE(p.error().message().find("Prequant BitsAndBytes models with tensor parallelism is not supported"),
            std::string::npos);
  auto one = plan(*c, specs, 1);
  ASSERT_TRUE(one.has_value()) << one.error().to_string();
  EXPECT_EQ(by_name(*one).at("model.layers.0.self_attn.q_proj.weight.absmax")->strategy, Strategy::q_heads);
}

TEST(PlanFrontier, GptqAndAwqFollowTheirWeightsInPacksAndGroups) {
  // Llama-2-13B GPTQ (no act-order), tp 2: o_proj row-split, its groups with it.
  ModelConfig g = load("TheBloke--Llama-2-13B-chat-GPTQ", 1);
  auto p = plan(g, testing::quantized_llama_specs(g), 2);
  ASSERT_TRUE(p.has_value()) << p.error().to_string();
  auto t = by_name(*p);
  EXPECT_EQ(t.at("model.layers.0.self_attn.o_proj.qweight")->rank_shape(1), (Shape{2560 / 8, 5120}));
  EXPECT_EQ(t.at("model.layers.0.self_attn.o_proj.scales")->rank_shape(1), (Shape{20, 5120}));
  EXPECT_EQ(t.at("model.layers.0.self_attn.o_proj.qzeros")->rank_shape(1), (Shape{20, 640}));
  EXPECT_EQ(t.at("model.layers.0.self_attn.o_proj.g_idx")->rank_shape(1), (Shape{2560}));
  EXPECT_EQ(t.at("model.layers.0.self_attn.q_proj.qweight")->rank_shape(1), (Shape{640, 2560}));
  EXPECT_EQ(t.at("model.layers.0.self_attn.q_proj.qzeros")->rank_shape(1), (Shape{40, 320}));
  EXPECT_EQ(t.at("model.layers.0.self_attn.q_proj.g_idx")->rank_shape(1), (Shape{5120}));  // column: whole

  // Genz-70B GPTQ with act-order, tp 8: row-split layers keep their full scales and zeros.
  ModelConfig a = load("TheBloke--Genz-70b-GPTQ", 1);
  auto pa = plan(a, testing::quantized_llama_specs(a), 8);
  ASSERT_TRUE(pa.has_value()) << pa.error().to_string();
  auto ta = by_name(*pa);
  EXPECT_EQ(ta.at("model.layers.0.mlp.down_proj.qweight")->rank_shape(5), (Shape{28672 / 8 / 8, 8192}));
  EXPECT_EQ(ta.at("model.layers.0.mlp.down_proj.g_idx")->rank_shape(5), (Shape{28672 / 8}));
  EXPECT_EQ(ta.at("model.layers.0.mlp.down_proj.scales")->rank_shape(5), (Shape{224, 8192}));
  EXPECT_EQ(ta.at("model.layers.0.mlp.down_proj.scales")->ranks[5].dim, -1);
  EXPECT_EQ(ta.at("model.layers.0.mlp.down_proj.qzeros")->ranks[5].dim, -1);

  // AWQ Llama-3.1-8B, tp 4: qweight [in, out/8] column-split in packs of 8 on dim 1.
  ModelConfig w = load("hugging-quants--Meta-Llama-3.1-8B-Instruct-AWQ-INT4", 1);
  auto pw = plan(w, testing::quantized_llama_specs(w), 4);
  ASSERT_TRUE(pw.has_value()) << pw.error().to_string();
  auto tw = by_name(*pw);
  EXPECT_EQ(tw.at("model.layers.0.self_attn.k_proj.qweight")->rank_shape(2), (Shape{4096, 256 / 8}));
  EXPECT_EQ(tw.at("model.layers.0.self_attn.k_proj.scales")->rank_shape(2), (Shape{32, 256}));
  EXPECT_EQ(tw.at("model.layers.0.mlp.down_proj.qweight")->rank_shape(2), (Shape{3584, 512}));
  EXPECT_EQ(tw.at("model.layers.0.mlp.down_proj.qzeros")->rank_shape(2), (Shape{28, 512}));
  EXPECT_EQ(tw.at("model.layers.0.mlp.down_proj.scales")->rank_shape(2), (Shape{28, 4096}));
  // tp 8 leaves each rank 8 KV heads' 1024/8 = 128 rows of k_proj: 16 packs, fine; the
  // 14336 / 128 groups of down_proj do not divide by 64 ranks... but 64 > 32 heads first.
  auto bad = plan(w, testing::quantized_llama_specs(w), 64);
  EXPECT_FALSE(bad.has_value());
}

TEST(PlanFrontier, ExpertRangesAreContiguousWithTheRemainderFirst) {
  EXPECT_EQ(expert_range(10, 4, 0), (SliceRange{0, 3}));
  EXPECT_EQ(expert_range(10, 4, 1), (SliceRange{3, 3}));
  EXPECT_EQ(expert_range(10, 4, 2), (SliceRange{6, 2}));
  EXPECT_EQ(expert_range(10, 4, 3), (SliceRange{8, 2}));
  EXPECT_EQ(expert_range(256, 32, 31), (SliceRange{248, 8}));
}

TEST(PlanFrontier, ExpertParallelIsTheWayOutOfTheExpertBlock) {
  // Qwen3-30B-A3B FP8 at tp 4 breaks the expert blocks; with whole experts it plans.
  ModelConfig c = load("Qwen--Qwen3-30B-A3B-FP8", 1);
  PlanOptions o;
  o.world_size = 4;
  o.expert_parallel = true;
  auto p = plan_tensor_parallel(c, testing::spec_tensors(testing::quantized_llama_specs(c)), o);
  ASSERT_TRUE(p.has_value()) << p.error().to_string();
  auto t = by_name(*p);
  // 128 experts: 32 per rank; expert 40 and its scale only on rank 1, whole.
  for (const char* n : {"model.layers.0.mlp.experts.40.down_proj.weight",
                        "model.layers.0.mlp.experts.40.down_proj.weight_scale_inv"}) {
    const TensorPlan& e = *t.at(n);
    EXPECT_EQ(e.strategy, Strategy::experts);
    for (int r = 0; r < 4; ++r) {
      EXPECT_EQ(e.ranks[r].present, r == 1) << n << " rank " << r;
      EXPECT_EQ(e.ranks[r].dim, -1);
    }
  }
  // Attention stays tensor-parallel; the router replicated.
  EXPECT_EQ(t.at("model.layers.0.self_attn.q_proj.weight")->strategy, Strategy::q_heads);
  EXPECT_EQ(t.at("model.layers.0.self_attn.q_proj.weight")->rank_shape(3), (Shape{1024, 2048}));
  EXPECT_EQ(t.at("model.layers.0.mlp.gate.weight")->strategy, Strategy::replicate);
  // Each rank reads a quarter of the experts' bytes.
  PlanSummary sum = summarize(*p);
  EXPECT_EQ(sum.rank_bytes[0], sum.rank_bytes[3]);
  EXPECT_EQ(sum.count[static_cast<std::size_t>(Strategy::experts)], 128u * 6u);
}

TEST(PlanFrontier, ExpertParallelSplitsFusedExpertTensorsByExpert) {
  // Llama-4's all-expert tensor [E, H, 2I]: 5 experts on 2 ranks, 3 then 2.
  TensorInfo fused;
  fused.name = "model.layers.0.feed_forward.experts.gate_up_proj";
  fused.dtype = DType::BF16;
  fused.shape = {5, 64, 64};
  auto slices = plan_internal::expert_parallel_slices(fused, 5, 2);
  ASSERT_TRUE(slices && slices->size() == 2u);
  EXPECT_EQ((*slices)[0].dim, 0);
  EXPECT_EQ((*slices)[0].ranges, (std::vector<SliceRange>{{0, 3}}));
  EXPECT_EQ((*slices)[1].ranges, (std::vector<SliceRange>{{3, 2}}));
  fused.name = "model.layers.0.mlp.shared_experts.up_proj.weight";
  EXPECT_FALSE(plan_internal::expert_parallel_slices(fused, 5, 2));
}

}  // namespace
}  // namespace hubload
