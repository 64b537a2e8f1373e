// Tiny checkpoints with the real tensor names of the frontier layouts (DeepSeek MLA +
// MoE + MTP in BF16 and FP8 block, GPTQ with act-order, AWQ), written to disk, planned
// for every W up to 8 and loaded rank by rank: the ranks' bytes rebuild every tensor
// bit for bit (scales and packed weights carried unchanged), replicated tensors are
// whole on every rank, and each refused W is an invalid_plan before any read.
#include <gtest/gtest.h>

#include <random>

#include "hubload/load.h"
#include "hubload/plan.h"
#include "support/safetensors_gen.h"
#include "support/test_support.h"
#include "support/tp_models.h"

namespace hubload {
namespace {

// hidden 256, 8 heads of qk 64+64 and v 64, latent ranks 256/128, experts of width
// 256: FP8 128-blocks allow W 1, 2 (down_proj: 256 / 4 = 64 columns breaks at 4).
const char* kTinyDeepSeek = R"({"architectures": ["DeepseekV3ForCausalLM"], "model_type": "deepseek_v3",
  "hidden_size": 256, "intermediate_size": 512, "moe_intermediate_size": 256, "num_hidden_layers": 2,
  "num_attention_heads": 8, "num_key_value_heads": 8, "n_routed_experts": 4, "n_shared_experts": 1,
  "num_experts_per_tok": 2, "first_k_dense_replace": 1, "moe_layer_freq": 1, "kv_lora_rank": 128,
  "q_lora_rank": 256, "qk_nope_head_dim": 64, "qk_rope_head_dim": 64, "v_head_dim": 64,
  "num_nextn_predict_layers": 1, "vocab_size": 256, "tie_word_embeddings": false, "torch_dtype": "bfloat16" %QUANT%})";

std::string with_quant(const std::string& config, const std::string& quant) {
  std::string out = config;
  out.replace(out.find("%QUANT%"), 7, quant.empty() ? "" : ", \"quantization_config\": " + quant);
  return out;
}

struct Written {
  ModelConfig config;
  testing::GeneratedFile file;
};

Written write_model(const std::filesystem::path& dir, const std::string& config_json, bool deepseek) {
  std::filesystem::create_directories(dir);
  testing::write_file(dir / "config.json", config_json);
  auto config = load_model_config(dir.string());
  if (!config) throw std::runtime_error(config.error().to_string());
  std::vector<TensorSpec> specs = deepseek ? testing::deepseek_specs(*config, config->quantization.has_value())
                                           : testing::quantized_llama_specs(*config);
  std::mt19937_64 rng(12);
  return {*config, testing::write_random_safetensors(dir / "model.safetensors", specs, rng)};
}

// Plans and loads every rank for W = 1..8; returns the W that planned.
std::vector<int> check_every_w(const std::filesystem::path& dir, const Written& m, bool expert_parallel = false) {
  std::vector<int> planned;
  for (int w = 1; w <= 8; ++w) {
    SCOPED_TRACE("tp " + std::to_string(w));
    PlanOptions o;
    o.world_size = w;
    o.expert_parallel = expert_parallel;
    auto plan = plan_model_folder(dir.string(), o);
    if (!plan) {
      EXPECT_EQ(plan.error().kind(), ErrorKind::invalid_plan) << plan.error().to_string();
      continue;
    }
    planned.push_back(w);
    auto loader = RankLoader::create(dir.string(), LoadOptions{});
    EXPECT_TRUE(loader.has_value());
    if (!loader) return planned;
    // rank_bytes[t][r]: tensor t's bytes on rank r.
    std::vector<std::vector<std::vector<std::byte>>> rank_bytes(plan->tensors.size(),
                                                                std::vector<std::vector<std::byte>>(w));
    for (int r = 0; r < w; ++r) {
      auto rp = rank_plan(*plan, r);
      EXPECT_TRUE(rp.has_value());
      if (!rp) return planned;
      auto loaded = loader->load(*rp);
      EXPECT_TRUE(loaded.has_value()) << (loaded ? "" : loaded.error().to_string());
      if (!loaded) return planned;
      std::size_t k = 0;
      for (std::size_t t = 0; t < plan->tensors.size(); ++t) {
        if (!plan->tensors[t].ranks[static_cast<std::size_t>(r)].present) continue;
        const LoadedTensor& lt = loaded->tensors[k++];
        EXPECT_EQ(lt.name, plan->tensors[t].name);
        EXPECT_EQ(lt.dtype, plan->tensors[t].info.dtype);  // carried as stored
        rank_bytes[t][static_cast<std::size_t>(r)].assign(lt.bytes.begin(), lt.bytes.end());
      }
    }
    for (std::size_t t = 0; t < plan->tensors.size(); ++t) {
      const TensorPlan& tp = plan->tensors[t];
      const std::vector<std::byte>& original = m.file.data.at(tp.name);
      if (tp.strategy == Strategy::replicate) {
        for (int r = 0; r < w; ++r) EXPECT_EQ(rank_bytes[t][static_cast<std::size_t>(r)], original) << tp.name;
        continue;
      }
      EXPECT_EQ(testing::reassemble(tp, rank_bytes[t]), original) << tp.name;
    }
  }
  return planned;
}

TEST(PlanQuantizedLoad, DeepSeekBf16RebuildsForEveryW) {
  testing::TempDir tmp;
  Written m = write_model(tmp / "ds", with_quant(kTinyDeepSeek, ""), true);
  EXPECT_EQ(check_every_w(tmp / "ds", m), (std::vector<int>{1, 2, 4, 8}));
}

TEST(PlanQuantizedLoad, DeepSeekFp8BlockScalesFollowTheirWeights) {
  testing::TempDir tmp;
  const std::string quant = R"({"quant_method": "fp8", "fmt": "e4m3", "weight_block_size": [128, 128]})";
  Written m = write_model(tmp / "ds", with_quant(kTinyDeepSeek, quant), true);
  EXPECT_EQ(check_every_w(tmp / "ds", m), (std::vector<int>{1, 2}));
  // Expert parallelism keeps experts whole; the shared expert (256 / 4 = 64 rows) still breaks at 4.
  EXPECT_EQ(check_every_w(tmp / "ds", m, true), (std::vector<int>{1, 2}));

  // A dtype conversion would turn the F32 block scales into something else: refused, by name.
  PlanOptions o;
  auto plan = plan_model_folder((tmp / "ds").string(), o);
  ASSERT_TRUE(plan.has_value());
  LoadOptions lo;
  lo.convert_to = DType::BF16;
  auto loader = RankLoader::create((tmp / "ds").string(), lo);
  ASSERT_TRUE(loader.has_value());
  auto loaded = loader->load(*rank_plan(*plan, 0));
  ASSERT_FALSE(loaded.has_value());
  EXPECT_NE(loaded.error().message().find("cannot apply to quantized tensor 'model.layers.0.self_attn.q_a_proj.weight'"),
            std::string::npos)
      << loaded.error().message();
}

// A Llama with hidden 256, 4 heads of 64, 2 KV heads, MLP 512, in 4-bit groups of 64.
const char* kTinyLlama = R"({"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 256,
  "intermediate_size": 512, "num_attention_heads": 4, "num_key_value_heads": 2, "num_hidden_layers": 1,
  "vocab_size": 128, "tie_word_embeddings": false, "torch_dtype": "float16", "quantization_config": %Q%})";

std::string llama(const std::string& quant) {
  std::string out = kTinyLlama;
  out.replace(out.find("%Q%"), 3, quant);
  return out;
}

TEST(PlanQuantizedLoad, GptqActOrderAndAwqRebuildForEveryW) {
  testing::TempDir tmp;
  Written g = write_model(tmp / "gptq", llama(R"({"quant_method": "gptq", "bits": 4, "group_size": 64,
                                                   "desc_act": true})"), false);
  // 4 heads bound W at 4; act-order row layers keep their whole scales on every rank.
  EXPECT_EQ(check_every_w(tmp / "gptq", g), (std::vector<int>{1, 2, 4}));
  Written a = write_model(tmp / "awq", llama(R"({"quant_method": "awq", "bits": 4, "group_size": 64,
                                                  "zero_point": true})"), false);
  EXPECT_EQ(check_every_w(tmp / "awq", a), (std::vector<int>{1, 2, 4}));
}

}  // namespace
}  // namespace hubload
