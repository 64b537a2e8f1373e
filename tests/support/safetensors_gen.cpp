#include "support/safetensors_gen.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "support/test_support.h"

namespace hubload::testing {

std::vector<std::byte> random_tensor_bytes(const TensorSpec& spec, std::mt19937_64& rng) {
  auto size = tensor_byte_size(spec.dtype, spec.shape);
  if (!size) throw std::runtime_error("tensor '" + spec.name + "' has no whole byte size");
  std::vector<std::byte> out(static_cast<std::size_t>(*size));
  for (std::byte& b : out) b = static_cast<std::byte>(rng() & 0xFF);
  return out;
}

GeneratedFile write_random_safetensors(const std::filesystem::path& path, const std::vector<TensorSpec>& specs,
                                       std::mt19937_64& rng, const std::map<std::string, std::string>& metadata) {
  GeneratedFile file;
  file.path = path;
  file.specs = specs;
  std::vector<TensorData> tensors;
  for (const TensorSpec& spec : specs) file.data[spec.name] = random_tensor_bytes(spec, rng);
  for (const TensorSpec& spec : specs) tensors.push_back({spec, file.data[spec.name]});
  std::filesystem::create_directories(path.parent_path());
  Status st = write_safetensors(path.string(), tensors, metadata);
  if (!st) throw std::runtime_error(st.error().to_string());
  return file;
}

void write_index_file(const std::filesystem::path& path, const std::map<std::string, std::string>& weight_map,
                      std::optional<std::uint64_t> total_size) {
  nlohmann::json doc;
  doc["metadata"] = nlohmann::json::object();
  if (total_size) doc["metadata"]["total_size"] = *total_size;
  doc["weight_map"] = weight_map;
  write_file(path, doc.dump(2));
}

GeneratedModel write_sharded_model(const std::filesystem::path& dir,
                                   const std::vector<std::vector<TensorSpec>>& shards, std::mt19937_64& rng,
                                   bool write_index) {
  GeneratedModel model;
  model.dir = dir;
  model.index = dir / "model.safetensors.index.json";
  for (std::size_t i = 0; i < shards.size(); ++i) {
    std::string name = fmt::format("model-{:05d}-of-{:05d}.safetensors", i + 1, shards.size());
    model.shards.push_back(write_random_safetensors(dir / name, shards[i], rng));
    for (const TensorSpec& spec : shards[i]) {
      model.weight_map[spec.name] = name;
      model.total_size += model.shards.back().data[spec.name].size();
    }
  }
  if (write_index) write_index_file(model.index, model.weight_map, model.total_size);
  return model;
}

std::string raw_safetensors(std::string_view header, std::string_view data,
                            std::optional<std::uint64_t> header_length) {
  std::uint64_t n = header_length.value_or(header.size());
  std::string out;
  for (int i = 0; i < 8; ++i) out += static_cast<char>((n >> (8 * i)) & 0xFF);
  out += header;
  out += data;
  return out;
}

std::vector<TensorSpec> random_specs(std::size_t count, std::mt19937_64& rng) {
  std::span<const DType> dtypes = all_dtypes();
  std::vector<TensorSpec> out;
  while (out.size() < count) {
    TensorSpec spec;
    spec.name = "t" + std::to_string(out.size());
    spec.dtype = dtypes[rng() % dtypes.size()];
    std::size_t rank = rng() % 5;
    for (std::size_t d = 0; d < rank; ++d) spec.shape.push_back(rng() % 8);
    if (!tensor_byte_size(spec.dtype, spec.shape)) continue;  // sub-byte total: draw again
    out.push_back(std::move(spec));
  }
  return out;
}

}  // namespace hubload::testing
