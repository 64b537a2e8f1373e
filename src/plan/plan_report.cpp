// Strategy names, per-rank totals and the JSON form of a plan.
#include <algorithm>
#include <array>
#include <ostream>
#include <sstream>
#include <nlohmann/json.hpp>

#include "hubload/plan.h"

namespace hubload {
namespace {

constexpr std::array<std::string_view, 16> kNames = {
    "replicate", "skip", "column", "row", "vocab", "q_heads", "kv_heads", "qkv_blocks", "gate_up_blocks",
    "qkv_interleaved", "qkv_grouped", "experts", "mxfp4_gate_up", "mxfp4_down", "rank0", "conv_qkv"};
static_assert(kNames.size() == static_cast<std::size_t>(Strategy::conv_qkv) + 1, "a name per Strategy");
static_assert(kNames.size() <= sizeof(PlanSummary::count) / sizeof(PlanSummary::count[0]),
              "PlanSummary::count holds every Strategy");

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

namespace {

// JSON text of a value nlohmann can hold (strings escaped, numbers as it prints them).
template <class T>
std::string js(const T& v) {
  return nlohmann::json(v).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void write_shape(std::ostream& out, const std::vector<std::uint64_t>& shape) {
  out << '[';
  for (std::size_t i = 0; i < shape.size(); ++i) out << (i ? "," : "") << shape[i];
  out << ']';
}

}  // namespace

// Streamed tensor by tensor: a 140k-tensor plan never exists as one JSON tree.
void write_plan_json(const ShardPlan& plan, std::ostream& out) {
  PlanSummary sum = summarize(plan);
  out << "{\"world_size\":" << plan.world_size << ",\"model_type\":" << js(plan.model_type)
      << ",\"row_bias\":" << (plan.row_bias == RowBias::rank0 ? "\"rank0\"" : "\"all_ranks\"")
      << ",\"notes\":" << js(plan.notes) << ",\"checkpoint_bytes\":" << sum.checkpoint_bytes
      << ",\"replicated_bytes\":" << sum.replicated_bytes << ",\"rank_bytes\":";
  write_shape(out, sum.rank_bytes);
  out << ",\"imbalance\":" << js(sum.imbalance) << ",\"tensors\":[";
  for (std::size_t i = 0; i < plan.tensors.size(); ++i) {
    const TensorPlan& t = plan.tensors[i];
    out << (i ? "," : "") << "{\"name\":" << js(t.name) << ",\"file\":" << js(t.file) << ",\"dtype\":\""
        << to_string(t.info.dtype) << "\",\"shape\":";
    write_shape(out, t.info.shape);
    out << ",\"strategy\":\"" << to_string(t.strategy) << "\",\"rule\":" << js(t.rule) << ",\"ranks\":[";
    for (int r = 0; r < plan.world_size; ++r) {
      const TensorSlice& s = t.ranks[static_cast<std::size_t>(r)];
      out << (r ? "," : "") << "{\"present\":" << (s.present ? "true" : "false") << ",\"shape\":";
      write_shape(out, t.rank_shape(r));
      out << ",\"bytes\":" << rank_bytes(t, r);
      if (s.dim >= 0) {
        out << ",\"dim\":" << s.dim << ",\"ranges\":[";
        for (std::size_t k = 0; k < s.ranges.size(); ++k)
          out << (k ? "," : "") << '[' << s.ranges[k].start << ',' << s.ranges[k].start + s.ranges[k].length << ']';
        out << ']';
        if (s.pad) out << ",\"pad\":" << s.pad;
      }
      out << '}';
    }
    out << "]}";
  }
  out << "]}";
}

std::string plan_to_json(const ShardPlan& plan) {
  std::ostringstream out;
  write_plan_json(plan, out);
  return out.str();
}

}  // namespace hubload
