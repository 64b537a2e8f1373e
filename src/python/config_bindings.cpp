// ModelConfig as a Python dict of its typed fields (the Python ModelConfig
// gives attribute access over it), and validate_tensor_parallel.
#include <pybind11/stl.h>

#include "hubload/config.h"
#include "python/bindings.h"

namespace hubload::python_internal {
namespace {

template <class T>
py::object optional(const std::optional<T>& value) {
  return value ? py::cast(*value) : py::none();
}

py::dict moe_dict(const MoeConfig& moe) {
  py::dict d;
  d["num_experts"] = moe.num_experts;
  d["experts_per_token"] = optional(moe.experts_per_token);
  d["expert_intermediate_size"] = optional(moe.expert_intermediate_size);
  d["num_shared_experts"] = moe.num_shared_experts;
  d["shared_expert_intermediate_size"] = optional(moe.shared_expert_intermediate_size);
  d["num_dense_layers"] = moe.num_dense_layers;
  d["layer_freq"] = moe.layer_freq;
  return d;
}

py::dict quantization_dict(const QuantizationConfig& q) {
  py::dict d;
  d["method"] = std::string(to_string(q.method));
  d["method_name"] = q.method_name;
  d["bits"] = optional(q.bits);
  d["group_size"] = optional(q.group_size);
  d["block_n"] = optional(q.block_n);
  d["block_k"] = optional(q.block_k);
  d["act_order"] = q.act_order;
  d["strategy"] = q.strategy;
  d["format"] = q.format;
  d["modules_not_converted"] = q.modules_not_converted;
  return d;
}

py::dict config_dict(const ModelConfig& c) {
  py::dict d;
  d["source"] = c.source;
  d["model_type"] = c.model_type;
  d["architectures"] = c.architectures;
  d["text_config_key"] = c.text_config_key;
  d["num_hidden_layers"] = optional(c.num_hidden_layers);
  d["hidden_size"] = optional(c.hidden_size);
  d["num_attention_heads"] = optional(c.num_attention_heads);
  d["num_key_value_heads"] = optional(c.num_key_value_heads);
  d["head_dim"] = optional(c.head_dim);
  d["intermediate_size"] = optional(c.intermediate_size);
  d["vocab_size"] = optional(c.vocab_size);
  d["max_position_embeddings"] = optional(c.max_position_embeddings);
  d["tie_word_embeddings"] = c.tie_word_embeddings;
  d["dtype"] = optional(c.dtype);
  d["rope_theta"] = optional(c.rope_theta);
  d["moe"] = c.moe ? py::object(moe_dict(*c.moe)) : py::none();
  d["quantization"] = c.quantization ? py::object(quantization_dict(*c.quantization)) : py::none();
  d["num_mtp_layers"] = c.num_mtp_layers;
  d["attention_sinks"] = c.attention_sinks;
  d["layer_types"] = c.layer_types;
  d["sliding_window"] = optional(c.sliding_window);
  d["num_encoder_layers"] = optional(c.num_encoder_layers);
  d["num_decoder_layers"] = optional(c.num_decoder_layers);
  d["known_family"] = c.known_family;
  d["family"] = c.family;
  d["derivations"] = c.derivations;
  d["undetermined"] = c.undetermined;
  d["estimated_parameters"] = optional(c.estimated_parameters());
  return d;
}

py::dict validation_dict(const TpValidation& v) {
  py::list problems;
  for (const TpProblem& p : v.problems) problems.append(py::make_tuple(p.field, p.message));
  py::dict d;
  d["world_size"] = v.world_size;
  d["problems"] = problems;
  d["notes"] = v.notes;
  d["heads_per_rank"] = optional(v.heads_per_rank);
  d["kv_heads_per_rank"] = optional(v.kv_heads_per_rank);
  d["kv_replication"] = v.kv_replication;
  d["padded_vocab"] = optional(v.padded_vocab);
  d["vllm_padded_vocab"] = optional(v.vllm_padded_vocab);
  return d;
}

}  // namespace

void bind_config(py::module_& m) {
  py::class_<ModelConfig>(m, "NativeConfig")
      .def("to_dict", &config_dict)
      .def_readonly("raw_json", &ModelConfig::raw_json);

  m.def(
      "load_config",
      [](const std::string& path) {
        Result<ModelConfig> config = [&] {
          py::gil_scoped_release release;
          return load_model_config(path);
        }();
        return value_or_raise(std::move(config), "config");
      },
      py::arg("path"));
  m.def(
      "validate_tensor_parallel",
      [](const ModelConfig& config, int world_size) {
        return validation_dict(validate_tensor_parallel(config, world_size));
      },
      py::arg("config"), py::arg("world_size"));
}

}  // namespace hubload::python_internal
