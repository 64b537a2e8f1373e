// rank_plan: slices to byte runs (safetensors.md §7.1). A dim-0 slice is one run
// per range; a dim-j slice is one run per range for each index of the dims
// before j; adjacent runs (in file and destination) are merged.
#include <string>

#include "hubload/plan.h"

namespace hubload {
namespace {

using u64 = std::uint64_t;

void push_run(std::vector<ByteRun>& runs, ByteRun run) {
  if (run.length == 0) return;
  if (!runs.empty()) {
    ByteRun& last = runs.back();
    if (last.file_offset + last.length == run.file_offset && last.dest_offset + last.length == run.dest_offset) {
      last.length += run.length;
      return;
    }
  }
  runs.push_back(run);
}

void push_zero(std::vector<SliceRange>& zeros, u64 start, u64 length) {
  if (length == 0) return;
  if (!zeros.empty() && zeros.back().start + zeros.back().length == start) {
    zeros.back().length += length;
    return;
  }
  zeros.push_back({start, length});
}

}  // namespace

std::vector<std::uint64_t> TensorPlan::rank_shape(int rank) const {
  std::vector<std::uint64_t> shape = info.shape;
  const TensorSlice& s = ranks.at(static_cast<std::size_t>(rank));
  if (s.dim >= 0) {
    u64 n = s.pad;
    for (const SliceRange& r : s.ranges) n += r.length;
    shape[static_cast<std::size_t>(s.dim)] = n;
  }
  return shape;
}

std::uint64_t RankPlan::bytes_to_read() const {
  u64 n = 0;
  for (const RankTensor& t : tensors)
    for (const ByteRun& r : t.runs) n += r.length;
  return n;
}

std::uint64_t RankPlan::bytes_out() const {
  u64 n = 0;
  for (const RankTensor& t : tensors) n += t.bytes;
  return n;
}

Result<RankPlan> rank_plan(const ShardPlan& plan, int rank) {
  if (rank < 0 || rank >= plan.world_size)
    return invalid_input("rank " + std::to_string(rank) + " is outside tp " + std::to_string(plan.world_size) +
                         " (ranks 0.." + std::to_string(plan.world_size - 1) + ")");
  RankPlan out;
  out.rank = rank;
  out.world_size = plan.world_size;
  for (const TensorPlan& tp : plan.tensors) {
    const TensorSlice& slice = tp.ranks[static_cast<std::size_t>(rank)];
    if (!slice.present) continue;
    RankTensor rt;
    rt.name = tp.name;
    rt.file = tp.file;
    rt.dtype = tp.info.dtype;
    rt.shape = tp.rank_shape(rank);
    const std::vector<u64>& shape = tp.info.shape;
    if (slice.dim < 0) {
      rt.bytes = tp.info.size;
      push_run(rt.runs, {tp.info.offset, tp.info.size, 0});
      out.tensors.push_back(std::move(rt));
      continue;
    }
    const auto d = static_cast<std::size_t>(slice.dim);
    u64 outer = 1, inner_bits = dtype_bits(tp.info.dtype);
    for (std::size_t i = 0; i < d; ++i) outer *= shape[i];
    for (std::size_t i = d + 1; i < shape.size(); ++i) inner_bits *= shape[i];
    if (inner_bits % 8 != 0)
      return unsupported("tensor '" + tp.name + "' (" + std::string(to_string(tp.info.dtype)) +
                         "): a slice of dim " + std::to_string(d) + " does not fall on byte boundaries");
    const u64 inner = inner_bits / 8, in_dim = shape[d], out_dim = rt.shape[d];
    rt.bytes = outer * out_dim * inner;
    for (u64 o = 0; o < outer; ++o) {
      u64 acc = 0;
      for (const SliceRange& r : slice.ranges) {
        push_run(rt.runs, {tp.info.offset + (o * in_dim + r.start) * inner, r.length * inner,
                           (o * out_dim + acc) * inner});
        acc += r.length;
      }
      push_zero(rt.zero_fill, (o * out_dim + acc) * inner, slice.pad * inner);
    }
    out.tensors.push_back(std::move(rt));
  }
  return out;
}

}  // namespace hubload
