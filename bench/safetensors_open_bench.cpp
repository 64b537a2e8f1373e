// open_checkpoint on a folder of 200 shards x 300 tensors with an index: the cost
// of validating every header and the index before a load (safetensors.md §8.2).
// The model is generated once into a temporary folder and removed at exit.
#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "hubload/safetensors.h"

namespace {

constexpr int kShards = 200;
constexpr int kTensorsPerShard = 300;

class Model {
 public:
  Model() {
    std::string templ = (std::filesystem::temp_directory_path() / "hubload-bench-XXXXXX").string();
    if (::mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = templ;
    nlohmann::json weight_map = nlohmann::json::object();
    std::uint64_t total = 0;
    std::vector<std::byte> data(4 * 64);  // each tensor: F32 [4, 16]
    for (int s = 0; s < kShards; ++s) {
      std::string shard = fmt::format("model-{:05d}-of-{:05d}.safetensors", s + 1, kShards);
      std::vector<hubload::TensorData> tensors;
      for (int t = 0; t < kTensorsPerShard; ++t) {
        std::string name = fmt::format("model.layers.{}.block.{}.weight", s, t);
        tensors.push_back({{name, hubload::DType::F32, {4, 16}}, data});
        weight_map[name] = shard;
        total += data.size();
      }
      auto st = hubload::write_safetensors((dir_ / shard).string(), tensors);
      if (!st) throw std::runtime_error(st.error().to_string());
    }
    std::ofstream(dir_ / "model.safetensors.index.json")
        << nlohmann::json{{"metadata", {{"total_size", total}}}, {"weight_map", weight_map}}.dump();
  }
  ~Model() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
};

const Model& model() {
  static Model m;
  return m;
}

void BM_OpenCheckpoint(benchmark::State& state) {
  const std::string dir = model().dir().string();
  for (auto _ : state) {
    auto c = hubload::open_checkpoint(dir);
    if (!c) {
      state.SkipWithError(c.error().to_string().c_str());
      return;
    }
    std::uint64_t bytes = 0;
    for (const hubload::CheckpointTensor& t : c->tensors) bytes += t.info.size + t.info.name.size();
    benchmark::DoNotOptimize(bytes);
    if (c->tensors.size() != static_cast<std::size_t>(kShards * kTensorsPerShard)) {
      state.SkipWithError("wrong tensor count");
      return;
    }
  }
  state.counters["shards"] = kShards;
  state.counters["tensors"] = kShards * kTensorsPerShard;
}
BENCHMARK(BM_OpenCheckpoint)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
