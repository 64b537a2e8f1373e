// Private: the chunk formulas of tensor-parallel.md §2, §4, §6, §7 turned into
// per-rank slices of one tensor.
#pragma once

#include <cstdint>
#include <vector>

#include "hubload/error.h"
#include "hubload/plan.h"

namespace hubload::plan_internal {

struct SplitContext {
  int world_size = 1;
  std::int64_t q_heads = 0;   // num_attention_heads
  std::int64_t kv_heads = 0;  // num_key_value_heads (Hq when MHA)
  // Qwen3-Next linear attention: key and value widths (heads x head dim) of conv1d's sections.
  std::int64_t linear_key_dim = 0;
  std::int64_t linear_value_dim = 0;
  // gpt-oss experts: elements per block of the intermediate split (32 in MXFP4, else 1).
  std::uint64_t mxfp4_block = 1;
  const PlanOptions* options = nullptr;
};

// Whether the strategy's default split dim is the output dim (0) rather than the input dim.
bool is_column_type(Strategy s);
// skip (held by no rank) and rank0 (held by rank 0 only) split nothing, they only decide
// which ranks hold the tensor: sets `out`'s presence and returns true for them.
bool presence_only(Strategy s, std::vector<TensorSlice>& out);

// The W slices of `info` under `strategy` (rule_dim: the rule's dim or -1).
// An invalid_plan error names the tensor, dimension, size and W.
Result<std::vector<TensorSlice>> split_tensor(const TensorInfo& info, Strategy strategy, int rule_dim,
                                              const SplitContext& ctx);

}  // namespace hubload::plan_internal
