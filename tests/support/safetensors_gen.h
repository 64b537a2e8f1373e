// Generators of safetensors test models, reusable by every component's tests.
//
//   std::mt19937_64 rng(7);
//   auto file = write_random_safetensors(dir / "m.safetensors",
//                                        {{"w", DType::F32, {2, 3}}, {"b", DType::BF16, {3}}}, rng);
//   auto model = write_sharded_model(dir, {{{"a", DType::F32, {4}}}, {{"b", DType::F16, {2}}}}, rng);
//
// Data is pseudo-random (from the caller's generator, so runs are reproducible) and
// kept in memory so tests can compare what a reader returns byte for byte.
// Failures throw std::runtime_error (test code only).
#pragma once

#include <cstddef>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "hubload/safetensors.h"

namespace hubload::testing {

// Random bytes of the size `spec` needs (prod(shape) * bits / 8).
std::vector<std::byte> random_tensor_bytes(const TensorSpec& spec, std::mt19937_64& rng);

struct GeneratedFile {
  std::filesystem::path path;
  std::vector<TensorSpec> specs;                           // in the order written
  std::map<std::string, std::vector<std::byte>> data;      // tensor name -> bytes
};

// Writes one file with hubload's writer (tensors in the order given).
GeneratedFile write_random_safetensors(const std::filesystem::path& path, const std::vector<TensorSpec>& specs,
                                       std::mt19937_64& rng,
                                       const std::map<std::string, std::string>& metadata = {});

struct GeneratedModel {
  std::filesystem::path dir;
  std::filesystem::path index;                 // dir / "model.safetensors.index.json"
  std::vector<GeneratedFile> shards;           // model-0000i-of-0000n.safetensors
  std::map<std::string, std::string> weight_map;
  std::uint64_t total_size = 0;
};

// One shard per inner list, named the transformers way, plus an index with the
// exact weight_map and total_size (omit the index with write_index = false).
GeneratedModel write_sharded_model(const std::filesystem::path& dir,
                                   const std::vector<std::vector<TensorSpec>>& shards, std::mt19937_64& rng,
                                   bool write_index = true);

// Writes an index JSON for `weight_map` (and total_size when given) to `path`.
void write_index_file(const std::filesystem::path& path, const std::map<std::string, std::string>& weight_map,
                      std::optional<std::uint64_t> total_size);

// Raw bytes of a file: LE64(header.size()) + header + data, with no checks, for
// building invalid files by hand. `header_length` overrides N when given.
std::string raw_safetensors(std::string_view header, std::string_view data,
                            std::optional<std::uint64_t> header_length = std::nullopt);

// A random tensor list: `count` tensors named "t{i}" with random dtypes from
// all_dtypes() and shapes of 0-4 dimensions of size 0-7 whose bit count is a
// multiple of 8.
std::vector<TensorSpec> random_specs(std::size_t count, std::mt19937_64& rng);

}  // namespace hubload::testing
