// What every rank of a scattered load needs to plan it, small next to the
// tensors: config.json, the checkpoint's tensor list and each shard's size.
// One node that holds the checkpoint reads them and every rank gets the same
// bytes, so that every rank builds the same plan, those on nodes without the
// files included. Private to src/mpi.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "hubload/error.h"
#include "hubload/plan.h"
#include "hubload/safetensors.h"

namespace hubload::mpi_internal {

struct ScatterInputs {
  std::string config_json;
  std::string config_source;  // where it was read, for messages
  std::vector<CheckpointTensor> tensors;
  std::map<std::string, std::uint64_t> file_sizes;  // shard file (relative to the root) -> bytes

  std::string encode() const;
  static Result<ScatterInputs> decode(std::string_view text);
};

// Reads them from a checkpoint folder (the checks of open_checkpoint apply).
Result<ScatterInputs> read_scatter_inputs(const std::filesystem::path& root);

// The plan of `inputs`, as plan_model_folder makes it from the folder.
Result<ShardPlan> plan_from_inputs(const ScatterInputs& inputs, const PlanOptions& options);

}  // namespace hubload::mpi_internal
