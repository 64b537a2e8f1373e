// Plans for the real configs in testdata/configs (families hubload covers): the
// index's weight_map names where the repo has an index, else the family's names;
// shapes synthesised from the config. Every tensor gets a strategy, and the
// ranks' bytes add up to the checkpoint plus replication and vocab padding.
#include <gtest/gtest.h>

#include <map>
#include <numeric>
#include <regex>

#include "hubload/plan.h"
#include "support/test_support.h"
#include "support/tp_models.h"

namespace hubload {
namespace {

namespace fs = std::filesystem;
using u64 = std::uint64_t;

// "model.layers.17.mlp.experts.3.w1.weight" -> "model.layers.N.mlp.experts.N.w1.weight",
// without the optional "transformer." prefix.
std::string normalise(std::string name) {
  if (name.starts_with("transformer.")) name = name.substr(12);
  return std::regex_replace(name, std::regex(R"(\.\d+\.)"), ".N.");
}

u64 expected_total(const TensorPlan& t, const ModelConfig& c, int w) {
  const u64 W = static_cast<u64>(w), size = t.info.size;
  const u64 Hq = static_cast<u64>(*c.num_attention_heads), Hkv = static_cast<u64>(*c.num_key_value_heads);
  const u64 rep = Hkv < W ? W / Hkv : 1;
  u64 row_bytes = t.info.shape.empty() ? size : size / t.info.shape[0];
  switch (t.strategy) {
    case Strategy::skip: return 0;
    case Strategy::replicate: return size * W;
    case Strategy::row: return t.info.shape.size() == 1 ? size * W : size;
    case Strategy::kv_heads: return size * rep;
    case Strategy::qkv_blocks: {
      u64 per_head = size / (Hq + 2 * Hkv);
      return per_head * (Hq + 2 * Hkv * rep);
    }
    case Strategy::qkv_grouped: {
      u64 per_head = size / (Hq + 2 * Hkv);
      return per_head * (Hq + 2 * Hkv * rep);
    }
    case Strategy::vocab: {
      u64 V = t.info.shape[0];
      if (V % W == 0) return size;
      u64 m = std::lcm<u64>(64, W);
      return (V + m - 1) / m * m * row_bytes;
    }
    default: return size;
  }
}

struct Case {
  std::string repo;
  std::string family;  // model_type the generator should use (falcon for RefinedWeb)
};

class RealConfigs : public ::testing::TestWithParam<Case> {};

TEST_P(RealConfigs, EveryTensorPlannedAndBytesAddUp) {
  const Case& c = GetParam();
  fs::path dir = testing::testdata_dir() / "configs" / c.repo;
  Result<ModelConfig> config = load_model_config(dir.string());
  ASSERT_TRUE(config.has_value()) << config.error().to_string();

  testing::TinyDims dims;
  dims.layers = config->num_hidden_layers.value_or(1);
  dims.vocab = config->vocab_size.value_or(0);
  dims.tied = config->tie_word_embeddings;
  dims.positions = config->max_position_embeddings.value_or(2048);
  // Experts are capped for the synthetic list (names and plan rules are per expert alike).
  dims.experts = config->moe ? std::min<std::int64_t>(config->moe->num_experts, 8) : 0;
  ModelConfig gen = *config;
  gen.model_type = c.family;
  if (config->moe && config->moe->expert_intermediate_size) gen.intermediate_size = config->moe->expert_intermediate_size;
  std::vector<TensorSpec> specs = testing::tiny_specs(gen, dims);
  for (TensorSpec& s : specs) s.dtype = DType::BF16;

  std::vector<CheckpointTensor> tensors;
  if (fs::exists(dir / "model.safetensors.index.json")) {
    Result<ShardedIndex> index = load_index((dir / "model.safetensors.index.json").string());
    ASSERT_TRUE(index.has_value()) << index.error().to_string();
    std::map<std::string, std::vector<u64>> shapes;
    for (const TensorSpec& s : specs) shapes[normalise(s.name)] = s.shape;
    for (const auto& [name, file] : index->weight_map) {
      auto it = shapes.find(normalise(name));
      if (it == shapes.end() && name.find("experts") != std::string::npos) continue;  // experts beyond the cap
      ASSERT_NE(it, shapes.end()) << "no synthetic shape for " << name;
      tensors.push_back({TensorInfo{name, DType::BF16, it->second, 0, 0}, file});
    }
  } else {
    for (const TensorSpec& s : specs) tensors.push_back({TensorInfo{s.name, DType::BF16, s.shape, 0, 0}, "x"});
  }
  for (CheckpointTensor& t : tensors) {
    u64 n = 2;
    for (u64 d : t.info.shape) n *= d;
    t.info.size = n;
  }

  int planned = 0;
  for (int w : {1, 2, 4, 8}) {
    PlanOptions options;
    options.world_size = w;
    Result<ShardPlan> plan = plan_tensor_parallel(*config, tensors, options);
    TpValidation v = validate_tensor_parallel(*config, w);
    if (!v.ok()) {
      ASSERT_FALSE(plan.has_value()) << c.repo << " W=" << w;
      EXPECT_EQ(plan.error().kind(), ErrorKind::invalid_plan) << plan.error().to_string();
      continue;
    }
    ASSERT_TRUE(plan.has_value()) << c.repo << " W=" << w << ": " << plan.error().to_string();
    ++planned;
    ASSERT_EQ(plan->tensors.size(), tensors.size());
    PlanSummary sum = summarize(*plan);
    u64 want = 0;
    for (const TensorPlan& t : plan->tensors) want += expected_total(t, *config, w);
    EXPECT_EQ(std::accumulate(sum.rank_bytes.begin(), sum.rank_bytes.end(), u64{0}), want) << c.repo << " W=" << w;
    for (int r = 0; r < w; ++r) {  // the runs of each rank cover exactly its bytes
      RankPlan rp = *rank_plan(*plan, r);
      u64 zero = 0;
      for (const RankTensor& t : rp.tensors)
        for (const SliceRange& z : t.zero_fill) zero += z.length;
      EXPECT_EQ(rp.bytes_to_read() + zero, sum.rank_bytes[static_cast<std::size_t>(r)]);
    }
  }
  EXPECT_GE(planned, 1) << c.repo << ": no world size in {1, 2, 4, 8} was valid";
}

INSTANTIATE_TEST_SUITE_P(
    Configs, RealConfigs,
    ::testing::Values(Case{"meta-llama--Meta-Llama-3.1-8B", "llama"}, Case{"meta-llama--Llama-2-7b-hf", "llama"},
                      Case{"meta-llama--Llama-3.2-1B-Instruct", "llama"},
                      Case{"mattshumer--Reflection-Llama-3.1-70B", "llama"},
                      Case{"mistralai--Mistral-7B-v0.1", "mistral"},
                      Case{"mistralai--Mixtral-8x7B-v0.1", "mixtral"}, Case{"Qwen--Qwen2-7B", "qwen2"},
                      Case{"Qwen--Qwen2.5-1.5B", "qwen2"}, Case{"Qwen--Qwen3-8B", "qwen3"},
                      Case{"Qwen--Qwen3-0.6B", "qwen3"}, Case{"Qwen--Qwen3-30B-A3B", "qwen3_moe"},
                      Case{"google--gemma-7b", "gemma"}, Case{"google--gemma-2-9b", "gemma2"},
                      Case{"microsoft--Phi-3-mini-128k-instruct", "phi3"},
                      Case{"openai-community--gpt2-large", "gpt2"},
                      Case{"togethercomputer--RedPajama-INCITE-7B-Base", "gpt_neox"},
                      Case{"tiiuae--falcon-7b-instruct", "falcon"}, Case{"tiiuae--falcon-40b", "falcon"},
                      Case{"bigscience--bloom", "bloom"}),
    [](const auto& info) {
      std::string n = info.param.repo;
      for (char& ch : n)
        if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
      return n;
    });

}  // namespace
}  // namespace hubload
