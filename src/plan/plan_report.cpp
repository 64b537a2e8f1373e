// Strategy names, per-rank totals and the JSON form of a plan.
#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>

#include "hubload/plan.h"

namespace hubload {
namespace {

constexpr std::array<std::string_view, 11> kNames = {
    "replicate", "skip", "column", "row", "vocab", "q_heads", "kv_heads", "qkv_blocks", "gate_up_blocks",
    "qkv_interleaved", "qkv_grouped"};

std::uint64_t rank_bytes(const TensorPlan& t, int rank) {
  if (!t.ranks[static_cast<std::size_t>(rank)].present) return 0;
  std::uint64_t elements = 1;
  for (std::uint64_t d : t.rank_shape(rank)) elements *= d;
  return elements * dtype_bits(t.info.dtype) / 8;
}

}  // namespace

std::string_view to_string(Strategy s) { return kNames[static_cast<std::size_t>(s)]; }

std::optional<Strategy> strategy_from_string(std::string_view s) {
  for (std::size_t i = 0; i < kNames.size(); ++i)
    if (kNames[i] == s) return static_cast<Strategy>(i);
  return std::nullopt;
}

PlanSummary summarize(const ShardPlan& plan) {
  PlanSummary s;
  s.rank_bytes.assign(static_cast<std::size_t>(plan.world_size), 0);
  for (const TensorPlan& t : plan.tensors) {
    s.count[static_cast<std::size_t>(t.strategy)]++;
    if (t.strategy == Strategy::skip) continue;
    s.checkpoint_bytes += t.info.size;
    if (t.strategy == Strategy::replicate) s.replicated_bytes += t.info.size;
    for (int r = 0; r < plan.world_size; ++r) s.rank_bytes[static_cast<std::size_t>(r)] += rank_bytes(t, r);
  }
  if (!s.rank_bytes.empty()) {
    double sum = 0;
    for (std::uint64_t b : s.rank_bytes) sum += static_cast<double>(b);
    double mean = sum / static_cast<double>(s.rank_bytes.size());
    double max = static_cast<double>(*std::max_element(s.rank_bytes.begin(), s.rank_bytes.end()));
    s.imbalance = mean > 0 ? max / mean - 1.0 : 0.0;
  }
  return s;
}

std::string plan_to_json(const ShardPlan& plan) {
  using nlohmann::json;
  json tensors = json::array();
  for (const TensorPlan& t : plan.tensors) {
    json ranks = json::array();
    for (int r = 0; r < plan.world_size; ++r) {
      const TensorSlice& s = t.ranks[static_cast<std::size_t>(r)];
      json ranges = json::array();
      for (const SliceRange& x : s.ranges) ranges.push_back({x.start, x.start + x.length});
      json jr = {{"present", s.present}, {"shape", t.rank_shape(r)}, {"bytes", rank_bytes(t, r)}};
      if (s.dim >= 0) {
        jr["dim"] = s.dim;
        jr["ranges"] = ranges;
        if (s.pad) jr["pad"] = s.pad;
      }
      ranks.push_back(jr);
    }
    tensors.push_back({{"name", t.name},
                       {"file", t.file},
                       {"dtype", std::string(to_string(t.info.dtype))},
                       {"shape", t.info.shape},
                       {"strategy", std::string(to_string(t.strategy))},
                       {"rule", t.rule},
                       {"ranks", ranks}});
  }
  PlanSummary sum = summarize(plan);
  json doc = {{"world_size", plan.world_size},
              {"model_type", plan.model_type},
              {"row_bias", plan.row_bias == RowBias::rank0 ? "rank0" : "all_ranks"},
              {"notes", plan.notes},
              {"checkpoint_bytes", sum.checkpoint_bytes},
              {"replicated_bytes", sum.replicated_bytes},
              {"rank_bytes", sum.rank_bytes},
              {"imbalance", sum.imbalance},
              {"tensors", tensors}};
  return doc.dump(1);
}

}  // namespace hubload
