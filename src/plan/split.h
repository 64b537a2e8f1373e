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
  const PlanOptions* options = nullptr;
};

// The W slices of `info` under `strategy` (rule_dim: the rule's dim or -1).
// An invalid_plan error names the tensor, dimension, size and W.
Result<std::vector<TensorSlice>> split_tensor(const TensorInfo& info, Strategy strategy, int rule_dim,
                                              const SplitContext& ctx);

}  // namespace hubload::plan_internal
