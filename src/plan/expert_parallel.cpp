// Expert parallelism (tensor-parallel-frontier.md §0, vLLM determine_expert_map):
// rank r holds a contiguous range of whole experts, the first E mod W ranks one more.
#include <optional>
#include <string>

#include "plan/expert_parallel.h"

namespace hubload {

SliceRange expert_range(std::int64_t num_experts, int world_size, int rank) {
  const auto e = static_cast<std::uint64_t>(num_experts), w = static_cast<std::uint64_t>(world_size);
  const auto r = static_cast<std::uint64_t>(rank);
  const std::uint64_t base = e / w, extra = e % w;
  return {r * base + std::min(r, extra), base + (r < extra ? 1 : 0)};
}

}  // namespace hubload

namespace hubload::plan_internal {
namespace {

// The routed-expert index in "....experts.<e>.<rest>", or nullopt; "shared_experts" is
// not a routed expert.
std::optional<std::uint64_t> expert_index(std::string_view name, bool& fused) {
  const std::size_t at = name.find(".experts.");
  fused = false;
  if (at == std::string_view::npos) return std::nullopt;
  std::size_t i = at + 9;
  std::uint64_t e = 0;
  std::size_t digits = 0;
  for (; i < name.size() && name[i] >= '0' && name[i] <= '9'; ++i, ++digits) e = e * 10 + (name[i] - '0');
  if (digits == 0) {
    fused = true;  // Llama-4 / gpt-oss: one [E, ...] tensor for all experts
    return std::nullopt;
  }
  if (i >= name.size() || name[i] != '.') return std::nullopt;
  return e;
}

}  // namespace

std::optional<std::vector<TensorSlice>> expert_parallel_slices(const TensorInfo& info, std::int64_t num_experts,
                                                               int world_size) {
  bool fused = false;
  const std::optional<std::uint64_t> e = expert_index(info.name, fused);
  if (!e && !fused) return std::nullopt;
  const auto w = static_cast<std::size_t>(world_size);
  std::vector<TensorSlice> out(w);
  if (fused) {
    if (info.shape.empty() || info.shape[0] != static_cast<std::uint64_t>(num_experts)) return std::nullopt;
    for (std::size_t r = 0; r < w; ++r) {
      out[r].dim = 0;
      out[r].ranges.push_back(expert_range(num_experts, world_size, static_cast<int>(r)));
    }
    return out;
  }
  for (std::size_t r = 0; r < w; ++r) {
    const SliceRange mine = expert_range(num_experts, world_size, static_cast<int>(r));
    out[r].present = *e >= mine.start && *e < mine.start + mine.length;
  }
  return out;
}

}  // namespace hubload::plan_internal
