// Plans tensor parallelism for a local model folder (config.json + safetensors)
// and loads one rank's slice of every tensor into host memory, with only
// hubload::core (no network libraries).
//
//   load_rank MODEL_DIR WORLD_SIZE RANK
#include <cstdio>
#include <cstdlib>
#include <string>

#include "hubload/load.h"
#include "hubload/plan.h"
#include "hubload/version.h"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s MODEL_DIR WORLD_SIZE RANK\n", argv[0]);
    return 2;
  }
  const std::string model_dir = argv[1];
  hubload::PlanOptions options;
  options.world_size = std::atoi(argv[2]);
  const int rank = std::atoi(argv[3]);

  auto plan = hubload::plan_model_folder(model_dir, options);
  if (!plan) {
    std::fprintf(stderr, "plan: %s\n", plan.error().message().c_str());
    return 1;
  }
  auto rank_plan = hubload::rank_plan(*plan, rank);
  if (!rank_plan) {
    std::fprintf(stderr, "rank plan: %s\n", rank_plan.error().message().c_str());
    return 1;
  }
  auto loader = hubload::RankLoader::create(model_dir);
  if (!loader) {
    std::fprintf(stderr, "loader: %s\n", loader.error().message().c_str());
    return 1;
  }
  auto loaded = loader->load(*rank_plan);
  if (!loaded) {
    std::fprintf(stderr, "load: %s\n", loaded.error().message().c_str());
    return 1;
  }
  std::printf("hubload %s (library %s): %s rank %d of %d: %zu tensors, %llu bytes\n",
              std::string(hubload::kVersion).c_str(), std::string(hubload::version()).c_str(),
              plan->model_type.c_str(), rank, plan->world_size, loaded->tensors.size(),
              static_cast<unsigned long long>(loaded->bytes_out));
  return 0;
}
