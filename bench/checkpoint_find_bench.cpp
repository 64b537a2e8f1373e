// Checkpoint::find by name on a 140k-tensor checkpoint (Kimi-K2's count; the
// generated header-only "mixtral-140k" layout, support/header_only.h): every
// tensor looked up once through the name index, against the linear scan that
// find() was before (measured on a sample: over all names it is quadratic).
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <stdexcept>
#include <string>

#include "hubload/safetensors.h"
#include "support/header_only.h"

namespace {

// Written once into a folder of its own, removed at exit.
const hubload::Checkpoint& checkpoint() {
  struct Folder {
    std::filesystem::path path =
        std::filesystem::temp_directory_path() / ("hubload-find-bench-" + std::to_string(::getpid()));
    ~Folder() {
      std::error_code ec;
      std::filesystem::remove_all(path, ec);
    }
  };
  static Folder folder;
  static const hubload::Checkpoint c = [] {
    const auto& layouts = hubload::bench::header_only_layouts();
    auto layout = std::find_if(layouts.begin(), layouts.end(), [](const auto& l) { return l.name == "mixtral-140k"; });
    if (auto st = hubload::bench::write_header_only_checkpoint(folder.path, layout->make(), 64); !st) {
      throw std::runtime_error(st.error().to_string());
    }
    auto opened = hubload::open_checkpoint(folder.path);
    if (!opened) throw std::runtime_error(opened.error().to_string());
    return std::move(opened).value();
  }();
  return c;
}

void BM_FindEveryTensorIndexed(benchmark::State& state) {
  const hubload::Checkpoint& c = checkpoint();
  for (auto _ : state) {
    std::size_t found = 0;
    for (const hubload::CheckpointTensor& t : c.tensors) found += c.find(t.info.name) == &t;
    if (found != c.tensors.size()) state.SkipWithError("a tensor was not found");
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * c.tensors.size()));
  state.counters["tensors"] = static_cast<double>(c.tensors.size());
}
BENCHMARK(BM_FindEveryTensorIndexed)->Unit(benchmark::kMillisecond)->UseRealTime();

// The former find(): a scan per name, here for 1 name in 140 spread over the list.
void BM_FindSampleByScan(benchmark::State& state) {
  const hubload::Checkpoint& c = checkpoint();
  const std::size_t step = 140;
  std::size_t names = 0;
  for (auto _ : state) {
    names = 0;
    for (std::size_t i = 0; i < c.tensors.size(); i += step, ++names) {
      const std::string& name = c.tensors[i].info.name;
      auto it = std::find_if(c.tensors.begin(), c.tensors.end(),
                             [&](const hubload::CheckpointTensor& t) { return t.info.name == name; });
      benchmark::DoNotOptimize(it);
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * names));
  state.counters["tensors"] = static_cast<double>(c.tensors.size());
}
BENCHMARK(BM_FindSampleByScan)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
BENCHMARK_MAIN();
