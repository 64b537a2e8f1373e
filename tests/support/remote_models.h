// Safetensors images for the remote-metadata tests, built by hand (no hubload
// code involved, so a parser bug cannot hide in the fixture), and a checker of
// the cache rules huggingface_hub's scan_cache_dir enforces (hub-protocol.md §10.11).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace hubload::testing {

struct F32Tensor {
  std::string name;
  std::vector<std::uint64_t> shape;
};

// LE64(N) + header JSON (padded with spaces to a multiple of 8, or to
// `header_bytes` when larger) + data, each tensor's bytes filled with `fill`.
std::string f32_safetensors(const std::vector<F32Tensor>& tensors, char fill, std::uint64_t header_bytes = 0);

// The 8 + N header bytes of such an image.
std::uint64_t header_prefix_bytes(const std::string& image);

// Empty when `cache_root` passes scan_cache_dir's checks, else the first problem.
std::string scan_cache_problem(const std::filesystem::path& cache_root);

}  // namespace hubload::testing
