#include "mpi/scatter_inputs.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "hubload/config.h"
#include "hubload/file.h"

namespace hubload::mpi_internal {

Result<ScatterInputs> read_scatter_inputs(const std::filesystem::path& root) {
  ScatterInputs inputs;
  inputs.config_source = (root / "config.json").string();
  HUBLOAD_ASSIGN_OR_RETURN(inputs.config_json, read_text_file(inputs.config_source));
  HUBLOAD_ASSIGN_OR_RETURN(Checkpoint checkpoint, open_checkpoint(root));
  inputs.tensors = std::move(checkpoint.tensors);
  for (std::size_t i = 0; i < checkpoint.shard_files.size(); ++i) {
    inputs.file_sizes[checkpoint.shard_files[i]] = checkpoint.shard_headers[i].file_size;
  }
  return inputs;
}

std::string ScatterInputs::encode() const {
  nlohmann::json tensor_list = nlohmann::json::array();
  for (const CheckpointTensor& t : tensors) {
    tensor_list.push_back({t.info.name, t.file, std::string(to_string(t.info.dtype)), t.info.shape, t.info.offset,
                           t.info.size});
  }
  return nlohmann::json{{"config", config_json}, {"config_source", config_source}, {"tensors", tensor_list},
                        {"file_sizes", file_sizes}}
      .dump();
}

Result<ScatterInputs> ScatterInputs::decode(std::string_view text) {
  // Written by encode() on another rank of this job: a malformed one is a bug, not bad input.
  try {
    const nlohmann::json doc = nlohmann::json::parse(text);
    ScatterInputs inputs;
    inputs.config_json = doc.at("config").get<std::string>();
    inputs.config_source = doc.at("config_source").get<std::string>();
    inputs.file_sizes = doc.at("file_sizes").get<std::map<std::string, std::uint64_t>>();
    for (const nlohmann::json& t : doc.at("tensors")) {
      CheckpointTensor tensor;
      tensor.info.name = t.at(0).get<std::string>();
      tensor.file = t.at(1).get<std::string>();
      const std::optional<DType> dtype = dtype_from_string(t.at(2).get<std::string>());
      if (!dtype) return internal_error(fmt::format("scatter inputs: tensor {}: unknown dtype", tensor.info.name));
      tensor.info.dtype = *dtype;
      tensor.info.shape = t.at(3).get<std::vector<std::uint64_t>>();
      tensor.info.offset = t.at(4).get<std::uint64_t>();
      tensor.info.size = t.at(5).get<std::uint64_t>();
      inputs.tensors.push_back(std::move(tensor));
    }
    return inputs;
  } catch (const nlohmann::json::exception& e) {
    return internal_error(fmt::format("scatter inputs: {}", e.what()));
  }
}

Result<ShardPlan> plan_from_inputs(const ScatterInputs& inputs, const PlanOptions& options) {
  HUBLOAD_ASSIGN_OR_RETURN(ModelConfig config, parse_model_config(inputs.config_json, inputs.config_source));
  return plan_tensor_parallel(config, inputs.tensors, options);
}

}  // namespace hubload::mpi_internal
