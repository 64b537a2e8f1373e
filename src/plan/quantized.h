// Private: quantized tensors (scales, packed weights, zero points) follow their
// layer's weight: the weight's rule decides the split, and the tensor takes the
// same ranges in its own units (FP8 blocks, packs of 8, quantization groups).
// Layouts: ../shared/docs/tensor-parallel-frontier.md §1 and §4.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <map>
#include <string_view>
#include <vector>

#include "hubload/config.h"
#include "hubload/safetensors.h"
#include "plan/split.h"

namespace hubload::plan_internal {

// How a quantized tensor's dims relate to its layer's logical weight [out, in].
struct QuantLayout {
  std::string weight_name;  // "P.weight": the name the rules are matched against
  std::string unit;         // "FP8 block 128x128", "AWQ pack of 8": for messages
  bool replicate = false;   // per-tensor scales, weight_shape: whole on every rank
  // For logical dim 0 (out) and 1 (in): the tensor dim that holds it, -1 when the
  // tensor is whole on every rank whichever way the weight splits on that dim.
  int dim_of[2] = {-1, -1};
  // Logical elements per tensor element along that dim (block, pack or group size).
  std::uint64_t per_element[2] = {1, 1};
  bool ceil_blocks = false;  // FP8 block scales: the last block of a dim may be partial
};

// nullopt for a tensor that is not a quantization companion (plain weights,
// biases, norms, and FP8 weights themselves, which split like any weight).
std::optional<QuantLayout> quant_layout(std::string_view name, const TensorInfo& info,
                                        const std::optional<QuantizationConfig>& quantization);

// Splits quantized tensors for one plan; remembers, per weight shape and strategy,
// which world sizes would keep whole units, for the error messages.
class QuantSplitter {
 public:
  explicit QuantSplitter(const SplitContext& ctx);
  // `weight`: the layer's real weight when the checkpoint has one (its exact size
  // decides the partial last FP8 block), else nullptr.
  Result<std::vector<TensorSlice>> split(const TensorInfo& info, const QuantLayout& layout, Strategy s, int rule_dim,
                                         const TensorInfo* weight);

 private:
  static constexpr int kMaxSuggestedTp = 64;
  std::string working_sizes(const TensorInfo& logical, Strategy s, int dim, std::uint64_t per, bool ceil_blocks);
  const SplitContext& ctx_;
  std::map<std::string, std::string> cache_;
};

}  // namespace hubload::plan_internal
