// Tensor-parallel sharding plan: which bytes of a checkpoint each rank of world
// size W needs, decided from the config and the tensor list alone (no tensor
// data), so it can be computed from headers. Rules: ../shared/docs/tensor-parallel.md
// (§2 chunk formula, §3-§10 per family, §14 planner spec).
//
// A plan is a pure value: plan_tensor_parallel() never touches the disk, and
// rank_plan() turns it into per-rank byte runs that a loader (RankLoader, MPI,
// Python bindings) executes.
#pragma once
#pragma GCC visibility push(default)  // public API: exported by the shared libraries (see CMake)

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hubload/config.h"
#include "hubload/error.h"
#include "hubload/safetensors.h"

namespace hubload {

// What a rule decides for one tensor. 1-D tensors matched by a column-type rule
// split on dim 0; 1-D tensors matched by `row` are row-parallel biases.
enum class Strategy : std::uint8_t {
  replicate,        // whole tensor on every rank (norms, routers, positions)
  skip,             // not loaded (non-persistent buffers, a tied lm_head)
  column,           // even split of the output dim (dim 0, or dim 1 for GPT-2 Conv1D)
  row,              // even split of the input dim; 1-D: row bias (see RowBias)
  vocab,            // vocab-parallel embedding / lm_head, dim 0, padded (§4)
  q_heads,          // query projection: rank's query heads (§6.2 rule 1)
  kv_heads,         // key/value projection: rank's KV heads, replicated when W > Hkv (§6.2)
  qkv_blocks,       // [q; k; v] stacked blocks: Phi-3 qkv_proj, GPT-2 c_attn (§7.1, §7.4)
  gate_up_blocks,   // [gate; up] stacked blocks: Phi-3 gate_up_proj (§7.1)
  qkv_interleaved,  // per head [q, k, v]: GPT-NeoX, BLOOM query_key_value (§7.2)
  qkv_grouped,      // per KV group [q..., k, v]: Falcon query_key_value (§7.3)
  experts,          // expert parallelism: whole experts to ranks (fused 3-D tensors: dim 0 by expert)
  // gpt-oss experts (tensor-parallel-frontier.md §2): I is cut in blocks of 32 elements
  // (an MXFP4 checkpoint; 1 element otherwise), cdiv(I/32, W) blocks per rank, the last
  // rank taking what remains (vLLM's split, uneven: I 2880, W 4 gives 736, ..., 672).
  mxfp4_gate_up,    // [.., 2I, ..] interleaved gate/up rows: rank r takes rows [2s, 2e)
  mxfp4_down,       // [.., I/32, ..] blocks (MXFP4) or [.., I, ..] of the down projection's input
  rank0,            // whole on rank 0, absent elsewhere (gpt-oss down_proj_bias: added before the reduce)
  conv_qkv,         // Qwen3-Next conv1d [q (Kd); k (Kd); v (Vd)]: each section split 1/W
};
std::string_view to_string(Strategy s);
std::optional<Strategy> strategy_from_string(std::string_view s);

// Row-parallel biases are added once after the all-reduce. Both conventions load
// the same bytes; they differ in which ranks get the tensor at all.
enum class RowBias : std::uint8_t {
  all_ranks,  // default: the whole bias on every rank (Optimum, vLLM load)
  rank0,      // only rank 0 holds it (TGI; vLLM's rank-0-adds convention)
};

struct PlanOptions {
  int world_size = 1;
  // Vocab padding when V % W != 0: pad V up to a multiple of lcm(vocab_pad_multiple, W)
  // (vLLM uses 64) and zero-fill the padding rows. 0 = never pad (then V % W != 0
  // is an invalid_plan error). pad_vocab_always pads even when V % W == 0, as vLLM does.
  std::uint64_t vocab_pad_multiple = 64;
  bool pad_vocab_always = false;
  RowBias row_bias = RowBias::all_ranks;
  // Tensors that no rule matches are an `unsupported` error listing them, unless set.
  bool replicate_unmatched = false;
  // Contents of a rules file (JSON, see parse_plan_rules); its rules are tried
  // before the family's built-in ones.
  std::string rules_json;
  std::string rules_source;  // the rules file path, for messages
  // Expert parallelism (vLLM --enable-expert-parallel): routed experts are not split but
  // assigned whole to ranks, contiguously, the first E mod W ranks taking one more;
  // attention, shared experts and dense layers stay tensor-parallel.
  bool expert_parallel = false;
};


// One range [start, start + length) along the split dimension.
struct SliceRange {
  std::uint64_t start = 0;
  std::uint64_t length = 0;
  bool operator==(const SliceRange&) const = default;
};

// The experts [first, first + count) that `rank` holds under expert parallelism.
SliceRange expert_range(std::int64_t num_experts, int world_size, int rank);

// A rank's view of one tensor: the ranges of `dim` it holds, concatenated in
// order, followed by `pad` zero entries along that dim. dim < 0: the whole tensor.
struct TensorSlice {
  int dim = -1;
  std::vector<SliceRange> ranges;
  std::uint64_t pad = 0;
  bool present = true;  // false: this rank does not hold the tensor (row bias, rank0 convention)
};

struct TensorPlan {
  std::string name;
  std::string file;  // shard file, relative to the checkpoint root
  TensorInfo info;   // the full tensor in the checkpoint
  Strategy strategy = Strategy::replicate;
  std::string rule;  // the pattern (or reason) that decided the strategy
  std::vector<TensorSlice> ranks;  // world_size entries

  std::vector<std::uint64_t> rank_shape(int rank) const;  // output shape on `rank`
};

struct ShardPlan {
  int world_size = 1;
  std::string model_type;
  RowBias row_bias = RowBias::all_ranks;
  std::vector<TensorPlan> tensors;  // checkpoint order
  std::vector<std::string> notes;   // facts worth stating (vocab padding, KV replication)
};

// Whether a tensor is quantized data or its quantization metadata: FP8/FP6/FP4
// dtypes, and by name the scales, packed weights, zero points, g_idx, MXFP4 blocks
// and bitsandbytes state. Loaders carry these byte for byte and never convert them.
bool is_quantized_tensor(std::string_view name, DType dtype);

// Builds the plan. Errors, all collected before returning:
//  - invalid_plan: validate_tensor_parallel problems (W < 1, heads not divisible, ...)
//    or tensors whose split dimension does not divide / does not match the config;
//  - not_found: tensors the family requires that the list lacks;
//  - unsupported: an unknown family with no rules file, or unmatched tensors;
//  - invalid_input: a malformed rules file or pattern.
Result<ShardPlan> plan_tensor_parallel(const ModelConfig& config,
                                       const std::vector<CheckpointTensor>& tensors,
                                       const PlanOptions& options);

// ---- Per-rank byte ranges -------------------------------------------------------

// `length` bytes at `file_offset` (absolute, in the tensor's shard file) go to
// `dest_offset` in the rank tensor's buffer.
struct ByteRun {
  std::uint64_t file_offset = 0;
  std::uint64_t length = 0;
  std::uint64_t dest_offset = 0;
  bool operator==(const ByteRun&) const = default;
};

struct RankTensor {
  std::string name;
  std::string file;  // relative to the checkpoint root
  DType dtype = DType::F32;
  std::vector<std::uint64_t> shape;  // on this rank, padding included
  std::uint64_t bytes = 0;           // size of the rank tensor
  std::vector<ByteRun> runs;         // coalesced, in file order
  std::vector<SliceRange> zero_fill; // destination byte ranges to zero (vocab padding)
};

struct RankPlan {
  int rank = 0;
  int world_size = 1;
  std::vector<RankTensor> tensors;
  std::uint64_t bytes_to_read() const;  // sum of run lengths
  std::uint64_t bytes_out() const;      // sum of rank tensor sizes
};

// invalid_input when rank is out of range; unsupported when a sub-byte dtype
// (F4, F6) slice does not fall on byte boundaries.
Result<RankPlan> rank_plan(const ShardPlan& plan, int rank);

// Per-rank totals for reporting.
struct PlanSummary {
  std::vector<std::uint64_t> rank_bytes;  // output bytes per rank
  std::uint64_t checkpoint_bytes = 0;     // all non-skipped tensors, once
  std::uint64_t replicated_bytes = 0;     // replicated tensor bytes (held by every rank)
  double imbalance = 0;                   // max / mean - 1 over ranks
  std::size_t count[16] = {};             // tensors per Strategy
};
PlanSummary summarize(const ShardPlan& plan);

// The plan as compact JSON (strategy and per-rank slices of every tensor), for
// `hubload plan --json` and next to pre-sharded checkpoints; written tensor by tensor.
void write_plan_json(const ShardPlan& plan, std::ostream& out);
std::string plan_to_json(const ShardPlan& plan);

}  // namespace hubload

namespace hubload {

// Convenience for a model folder: load_model_config + open_checkpoint + plan.
Result<ShardPlan> plan_model_folder(const std::string& folder, const PlanOptions& options);

}  // namespace hubload
#pragma GCC visibility pop
