#include "plan/split.h"

#include <numeric>
#include <string>

namespace hubload::plan_internal {
namespace {

using u64 = std::uint64_t;

Error problem(const TensorInfo& info, int dim, const std::string& what) {
  return Error(ErrorKind::invalid_plan,
               "tensor '" + info.name + "' dim " + std::to_string(dim) + ": " + what);
}

// Ranges of one block [offset, offset + n) split into `parts` even chunks (§2).
Result<std::vector<SliceRange>> even_block(const TensorInfo& info, int dim, u64 offset, u64 n, int w,
                                           const char* what) {
  if (n % static_cast<u64>(w) != 0)
    return problem(info, dim, std::string(what) + " size " + std::to_string(n) + " is not divisible by tp " +
                                  std::to_string(w));
  std::vector<SliceRange> out;
  u64 chunk = n / static_cast<u64>(w);
  for (int r = 0; r < w; ++r) out.push_back({offset + r * chunk, chunk});
  return out;
}

// Heads [0, heads) of `head_rows` rows each starting at `offset`, one group per rank;
// with more ranks than heads every head is replicated W / heads times (§6.2 rule 3).
Result<std::vector<SliceRange>> head_block(const TensorInfo& info, int dim, u64 offset, std::int64_t heads,
                                           u64 head_rows, int w, const char* what) {
  u64 h = static_cast<u64>(heads), uw = static_cast<u64>(w);
  std::vector<SliceRange> out;
  if (uw <= h) {
    if (h % uw != 0)
      return problem(info, dim, std::string(what) + " " + std::to_string(h) + " not divisible by tp " +
                                    std::to_string(w));
    u64 per = h / uw * head_rows;
    for (u64 r = 0; r < uw; ++r) out.push_back({offset + r * per, per});
  } else {
    if (uw % h != 0)
      return problem(info, dim, "tp " + std::to_string(w) + " is not a multiple of " + what + " " +
                                    std::to_string(h));
    u64 replicas = uw / h;
    for (u64 r = 0; r < uw; ++r) out.push_back({offset + (r / replicas) * head_rows, head_rows});
  }
  return out;
}

Result<u64> per_head(const TensorInfo& info, int dim, u64 n, std::int64_t heads, const char* what) {
  if (heads <= 0) return problem(info, dim, std::string("config gives no ") + what);
  if (n % static_cast<u64>(heads) != 0)
    return problem(info, dim, "size " + std::to_string(n) + " is not a multiple of " + what + " " +
                                  std::to_string(heads));
  return n / static_cast<u64>(heads);
}

// gpt-oss experts (tensor-parallel-frontier.md §2, vLLM _load_weights_mxfp4 and
// _load_weights_other): the intermediate size I is cut in blocks of B elements (32 in
// an MXFP4 checkpoint, 1 otherwise), P = cdiv(I/B, W)·B per rank, rank r taking
// [s, e) = [r·P, min((r+1)·P, I)), the last rank less. mxfp4_gate_up: the dim holds
// the 2I interleaved gate/up rows, rank r takes [2s, 2e); mxfp4_down: it holds I/B
// blocks, rank r takes [s/B, e/B). vLLM asserts I % W == 0 all the same.
Result<std::vector<SliceRange>> mxfp4_block(const TensorInfo& info, Strategy s, int dim, u64 n, int w, u64 b) {
  const bool gate_up = s == Strategy::mxfp4_gate_up;
  if (gate_up && n % (2 * b) != 0)
    return problem(info, dim, "gate/up size " + std::to_string(n) + " is not 2 x a whole number of " +
                                  std::to_string(b) + "-element blocks");
  const u64 blocks = gate_up ? n / (2 * b) : n, inter = blocks * b, uw = static_cast<u64>(w);
  if (inter % uw != 0) {
    std::string fit;
    for (u64 k = 1; k <= 64; ++k)
      if (inter % k == 0) fit += (fit.empty() ? "" : ", ") + std::to_string(k);
    return problem(info, dim, "expert intermediate size " + std::to_string(inter) + " (" + std::to_string(blocks) +
                                  " blocks of " + std::to_string(b) + ") is not divisible by tp " + std::to_string(w) +
                                  " (vLLM asserts intermediate_size % tp_size == 0); tp that work: " + fit +
                                  "; or plan with expert parallelism");
  }
  const u64 per = (blocks + uw - 1) / uw, unit = gate_up ? 2 * b : 1;
  std::vector<SliceRange> out;
  for (u64 r = 0; r < uw; ++r) {
    const u64 first = std::min(r * per, blocks), last = std::min((r + 1) * per, blocks);
    out.push_back({first * unit, (last - first) * unit});
  }
  return out;
}

// Appends block j's per-rank ranges to each rank's list.
void append(std::vector<std::vector<SliceRange>>& per_rank, const std::vector<SliceRange>& block) {
  for (std::size_t r = 0; r < block.size(); ++r) per_rank[r].push_back(block[r]);
}

Result<std::vector<std::vector<SliceRange>>> ranges_for(const TensorInfo& info, Strategy s, int dim,
                                                        const SplitContext& ctx) {
  const int w = ctx.world_size;
  const u64 n = info.shape[static_cast<std::size_t>(dim)];
  std::vector<std::vector<SliceRange>> per_rank(static_cast<std::size_t>(w));
  switch (s) {
    case Strategy::column:
    case Strategy::row: {
      HUBLOAD_ASSIGN_OR_RETURN(auto b, even_block(info, dim, 0, n, w, "split"));
      append(per_rank, b);
      break;
    }
    case Strategy::q_heads: {
      HUBLOAD_ASSIGN_OR_RETURN(u64 d, per_head(info, dim, n, ctx.q_heads, "num_attention_heads"));
      if (static_cast<u64>(w) > static_cast<u64>(ctx.q_heads))
        return problem(info, dim, "tp " + std::to_string(w) + " exceeds num_attention_heads " +
                                      std::to_string(ctx.q_heads));
      HUBLOAD_ASSIGN_OR_RETURN(auto b, head_block(info, dim, 0, ctx.q_heads, d, w, "num_attention_heads"));
      append(per_rank, b);
      break;
    }
    case Strategy::kv_heads: {
      HUBLOAD_ASSIGN_OR_RETURN(u64 d, per_head(info, dim, n, ctx.kv_heads, "num_key_value_heads"));
      HUBLOAD_ASSIGN_OR_RETURN(auto b, head_block(info, dim, 0, ctx.kv_heads, d, w, "num_key_value_heads"));
      append(per_rank, b);
      break;
    }
    case Strategy::qkv_blocks: {
      // [q (Hq·D); k (Hkv·D); v (Hkv·D)], each block split by its own rule (§7.1, §7.4).
      HUBLOAD_ASSIGN_OR_RETURN(u64 d, per_head(info, dim, n, ctx.q_heads + 2 * ctx.kv_heads,
                                               "num_attention_heads + 2 * num_key_value_heads"));
      if (static_cast<u64>(w) > static_cast<u64>(ctx.q_heads))
        return problem(info, dim, "tp " + std::to_string(w) + " exceeds num_attention_heads " +
                                      std::to_string(ctx.q_heads));
      u64 q = static_cast<u64>(ctx.q_heads) * d, kv = static_cast<u64>(ctx.kv_heads) * d;
      HUBLOAD_ASSIGN_OR_RETURN(auto qb, head_block(info, dim, 0, ctx.q_heads, d, w, "num_attention_heads"));
      HUBLOAD_ASSIGN_OR_RETURN(auto kb, head_block(info, dim, q, ctx.kv_heads, d, w, "num_key_value_heads"));
      HUBLOAD_ASSIGN_OR_RETURN(auto vb, head_block(info, dim, q + kv, ctx.kv_heads, d, w, "num_key_value_heads"));
      append(per_rank, qb);
      append(per_rank, kb);
      append(per_rank, vb);
      break;
    }
    case Strategy::gate_up_blocks: {
      if (n % 2 != 0) return problem(info, dim, "fused gate/up size " + std::to_string(n) + " is odd");
      HUBLOAD_ASSIGN_OR_RETURN(auto g, even_block(info, dim, 0, n / 2, w, "intermediate"));
      HUBLOAD_ASSIGN_OR_RETURN(auto u, even_block(info, dim, n / 2, n / 2, w, "intermediate"));
      append(per_rank, g);
      append(per_rank, u);
      break;
    }
    case Strategy::qkv_interleaved:
    case Strategy::qkv_grouped: {
      // View as [G][Hq/G + 2][D]: G = Hkv for Falcon, G = Hq (one q per group) for
      // NeoX/BLOOM. Whole groups give one contiguous range; with W > G a rank takes
      // its share of the group's q heads plus the group's k and v (§7.3).
      std::int64_t groups = s == Strategy::qkv_interleaved ? ctx.q_heads : ctx.kv_heads;
      if (groups <= 0 || ctx.q_heads % groups != 0)
        return problem(info, dim, "num_attention_heads " + std::to_string(ctx.q_heads) +
                                      " is not a multiple of the KV groups " + std::to_string(groups));
      HUBLOAD_ASSIGN_OR_RETURN(u64 d, per_head(info, dim, n, ctx.q_heads + 2 * groups, "q + k + v heads"));
      u64 g = static_cast<u64>(groups), qpg = static_cast<u64>(ctx.q_heads) / g, uw = static_cast<u64>(w);
      u64 group_rows = (qpg + 2) * d;
      if (uw <= g) {
        HUBLOAD_ASSIGN_OR_RETURN(auto b, head_block(info, dim, 0, groups, group_rows, w, "KV groups"));
        append(per_rank, b);
      } else {
        if (uw % g != 0 || qpg % (uw / g) != 0)
          return problem(info, dim, "tp " + std::to_string(w) + " does not divide " + std::to_string(g) +
                                        " KV groups of " + std::to_string(qpg) + " query heads");
        u64 replicas = uw / g, q_local = qpg / replicas;
        for (u64 r = 0; r < uw; ++r) {
          u64 base = (r / replicas) * group_rows;
          per_rank[r] = {{base + (r % replicas) * q_local * d, q_local * d},
                         {base + qpg * d, d},
                         {base + (qpg + 1) * d, d}};
        }
      }
      break;
    }
    case Strategy::mxfp4_gate_up:
    case Strategy::mxfp4_down: {
      HUBLOAD_ASSIGN_OR_RETURN(auto b, mxfp4_block(info, s, dim, n, w, ctx.mxfp4_block));
      append(per_rank, b);
      break;
    }
    case Strategy::conv_qkv: {
      // Qwen3-Next conv1d over [q; k; v]: each section split on its own and the
      // rank's three pieces concatenated (vLLM mamba_v2_sharded_weight_loader).
      const u64 kd = static_cast<u64>(ctx.linear_key_dim), vd = static_cast<u64>(ctx.linear_value_dim);
      if (kd == 0 || vd == 0 || n != 2 * kd + vd)
        return problem(info, dim, "size " + std::to_string(n) + " is not 2 x linear key dim " + std::to_string(kd) +
                                      " + linear value dim " + std::to_string(vd) + " (linear_* config fields)");
      HUBLOAD_ASSIGN_OR_RETURN(auto q, even_block(info, dim, 0, kd, w, "linear key dim"));
      HUBLOAD_ASSIGN_OR_RETURN(auto k, even_block(info, dim, kd, kd, w, "linear key dim"));
      HUBLOAD_ASSIGN_OR_RETURN(auto v, even_block(info, dim, 2 * kd, vd, w, "linear value dim"));
      append(per_rank, q);
      append(per_rank, k);
      append(per_rank, v);
      break;
    }
    case Strategy::vocab:
    case Strategy::replicate:
    case Strategy::skip:
    case Strategy::rank0:
    case Strategy::experts:
      break;  // handled by the caller
  }
  return per_rank;
}

u64 lcm_u64(u64 a, u64 b) { return a / std::gcd(a, b) * b; }

// Vocab rows (§4): even split when V % W == 0, else padded to a multiple of
// lcm(pad_multiple, W) with the tail rows of the last ranks zero-filled.
Result<std::vector<TensorSlice>> vocab_slices(const TensorInfo& info, const SplitContext& ctx) {
  const PlanOptions& o = *ctx.options;
  u64 n = info.shape[0], uw = static_cast<u64>(ctx.world_size);
  u64 padded = n;
  if (n % uw != 0 || (o.pad_vocab_always && o.vocab_pad_multiple > 0)) {
    if (o.vocab_pad_multiple == 0)
      return problem(info, 0, "vocab size " + std::to_string(n) + " is not divisible by tp " +
                                  std::to_string(ctx.world_size) + " and vocab padding is off");
    u64 m = lcm_u64(o.vocab_pad_multiple, uw);
    padded = (n + m - 1) / m * m;
  }
  u64 per = padded / uw;
  std::vector<TensorSlice> out(uw);
  for (u64 r = 0; r < uw; ++r) {
    u64 start = std::min(r * per, n), end = std::min((r + 1) * per, n);
    out[r].dim = 0;
    if (end > start) out[r].ranges.push_back({start, end - start});
    out[r].pad = per - (end - start);
  }
  return out;
}

}  // namespace

bool is_column_type(Strategy s) { return s != Strategy::row && s != Strategy::replicate && s != Strategy::skip; }

bool presence_only(Strategy s, std::vector<TensorSlice>& out) {
  if (s != Strategy::skip && s != Strategy::rank0) return false;
  for (std::size_t r = 0; r < out.size(); ++r) out[r].present = s == Strategy::rank0 && r == 0;
  return true;
}

Result<std::vector<TensorSlice>> split_tensor(const TensorInfo& info, Strategy s, int rule_dim,
                                              const SplitContext& ctx) {
  std::vector<TensorSlice> out(static_cast<std::size_t>(ctx.world_size));
  if (s == Strategy::replicate || presence_only(s, out)) return out;
  if (info.shape.empty())
    return Error(ErrorKind::invalid_plan, "tensor '" + info.name + "' is a scalar and cannot be split as " +
                                              std::string(to_string(s)));
  if (s == Strategy::row && info.shape.size() == 1) {
    // Row-parallel bias: whole, added once after the all-reduce (§3).
    if (ctx.options->row_bias == RowBias::rank0)
      for (std::size_t r = 1; r < out.size(); ++r) out[r].present = false;
    return out;
  }
  if (s == Strategy::vocab) return vocab_slices(info, ctx);
  int dim = info.shape.size() == 1 ? 0 : (rule_dim >= 0 ? rule_dim : (is_column_type(s) ? 0 : 1));
  if (static_cast<std::size_t>(dim) >= info.shape.size())
    return Error(ErrorKind::invalid_plan, "tensor '" + info.name + "' has " + std::to_string(info.shape.size()) +
                                              " dims; cannot split dim " + std::to_string(dim));
  HUBLOAD_ASSIGN_OR_RETURN(auto ranges, ranges_for(info, s, dim, ctx));
  for (std::size_t r = 0; r < out.size(); ++r) {
    out[r].dim = dim;
    out[r].ranges = std::move(ranges[r]);
  }
  return out;
}

}  // namespace hubload::plan_internal
