#include "support/tp_reassembly.h"

#include <gtest/gtest.h>

#include "hubload/load.h"
#include "hubload/plan.h"
#include "support/test_support.h"
#include "support/tp_models.h"

namespace hubload::testing {

Written write_model(const std::filesystem::path& dir, const std::string& config_json, const SpecsOf& specs_of) {
  std::filesystem::create_directories(dir);
  write_file(dir / "config.json", config_json);
  auto config = load_model_config(dir.string());
  if (!config) throw std::runtime_error(config.error().to_string());
  std::mt19937_64 rng(12);
  return {*config, write_random_safetensors(dir / "model.safetensors", specs_of(*config), rng)};
}

std::vector<int> check_every_w(const std::filesystem::path& dir, const Written& m, bool expert_parallel) {
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
    // rank_bytes[t][r]: tensor t's bytes on rank r; held[t][r]: whether rank r loaded it.
    std::vector<std::vector<std::vector<std::byte>>> rank_bytes(plan->tensors.size(),
                                                                std::vector<std::vector<std::byte>>(w));
    std::vector<std::vector<bool>> held(plan->tensors.size(), std::vector<bool>(w, false));
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
        held[t][static_cast<std::size_t>(r)] = true;
      }
      EXPECT_EQ(k, loaded->tensors.size());
    }
    for (std::size_t t = 0; t < plan->tensors.size(); ++t) {
      const TensorPlan& tp = plan->tensors[t];
      const std::vector<std::byte>& original = m.file.data.at(tp.name);
      if (tp.strategy == Strategy::replicate || tp.strategy == Strategy::rank0) {
        for (int r = 0; r < w; ++r) {
          const bool holds = tp.strategy == Strategy::replicate || r == 0;
          EXPECT_EQ(held[t][static_cast<std::size_t>(r)], holds) << tp.name << " rank " << r;
          if (holds) {
            EXPECT_EQ(rank_bytes[t][static_cast<std::size_t>(r)], original) << tp.name << " rank " << r;
          }
        }
        continue;
      }
      EXPECT_EQ(reassemble(tp, rank_bytes[t]), original) << tp.name;
    }
  }
  return planned;
}

std::string python_reassembly(const std::filesystem::path& dir, int w) {
  std::string ranks;
  std::filesystem::create_directories(dir / "ranks");  // not beside model.safetensors: the script reads those
  for (int r = 0; r < w; ++r) {
    const std::string out = (dir / "ranks" / ("rank" + std::to_string(r) + ".safetensors")).string();
    auto load = run_command(cli_path().string() + " load " + dir.string() + " --tp " + std::to_string(w) +
                            " --rank " + std::to_string(r) + " --out " + out + " --quiet 2>&1");
    EXPECT_EQ(load.exit_code, 0) << load.out;
    ranks += " " + out;
  }
  auto check = run_command("python3 " + std::string(HUBLOAD_SOURCE_DIR) + "/scripts/check-reassembly.py " +
                           dir.string() + ranks + " 2>&1");
  EXPECT_EQ(check.exit_code, 0) << check.out;
  EXPECT_NE(check.out.find("\"ok\": true"), std::string::npos) << check.out;
  return check.out;
}

}  // namespace hubload::testing
