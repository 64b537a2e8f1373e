// Private: the per-rank slices of a routed-expert tensor under expert parallelism.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "hubload/plan.h"

namespace hubload::plan_internal {

// Per-expert tensors ("mlp.experts.<e>.*") go whole to the rank owning e; fused
// [E, ...] tensors ("feed_forward.experts.gate_up_proj") split dim 0 by expert.
// nullopt: not a routed-expert tensor.
std::optional<std::vector<TensorSlice>> expert_parallel_slices(const TensorInfo& info, std::int64_t num_experts,
                                                               int world_size);

}  // namespace hubload::plan_internal
