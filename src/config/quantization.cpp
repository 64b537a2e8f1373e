// quantization_config -> QuantizationConfig: each method's own spellings
// (transformers' quantizer configs, compressed-tensors' config_groups) reduced to
// what the planner and the size estimate need.
#include "config/families.h"

namespace hubload {

std::string_view to_string(QuantMethod m) {
  switch (m) {
    case QuantMethod::fp8: return "fp8";
    case QuantMethod::awq: return "awq";
    case QuantMethod::gptq: return "gptq";
    case QuantMethod::compressed_tensors: return "compressed-tensors";
    case QuantMethod::mxfp4: return "mxfp4";
    case QuantMethod::bitsandbytes: return "bitsandbytes";
    case QuantMethod::other: break;
  }
  return "other";
}

double QuantizationConfig::weight_bytes() const {
  if (bits) return static_cast<double>(*bits) / 8.0;
  return method == QuantMethod::fp8 ? 1.0 : 2.0;
}

}  // namespace hubload

namespace hubload::config_internal {
namespace {

Status read_string_list(const FieldReader& r, std::string_view key, std::vector<std::string>& out) {
  const nlohmann::json* v = r.find({key});
  if (!v) return ok();
  if (!v->is_array()) return invalid_input(r.where(key) + " must be an array of strings");
  for (const auto& m : *v) {
    if (!m.is_string()) return invalid_input(r.where(key) + " must be an array of strings");
    out.push_back(m.get<std::string>());
  }
  return ok();
}

QuantMethod method_of(std::string_view name) {
  if (name == "fp8" || name == "fbgemm_fp8") return QuantMethod::fp8;
  if (name == "awq") return QuantMethod::awq;
  if (name == "gptq") return QuantMethod::gptq;
  if (name == "compressed-tensors") return QuantMethod::compressed_tensors;
  if (name == "mxfp4") return QuantMethod::mxfp4;
  if (name == "bitsandbytes") return QuantMethod::bitsandbytes;
  return QuantMethod::other;
}

// compressed-tensors: the weights scheme of the config group that targets Linear
// layers (published checkpoints have one group).
Status read_compressed_tensors(const FieldReader& r, QuantizationConfig& q) {
  HUBLOAD_ASSIGN_OR_RETURN(auto format, r.string({"format"}));
  q.format = format.value_or("");
  HUBLOAD_TRY(read_string_list(r, "ignore", q.modules_not_converted));
  const nlohmann::json* groups = r.find({"config_groups"});
  if (!groups || !groups->is_object()) return ok();
  for (const auto& [name, group] : groups->items()) {
    auto w = group.find("weights");
    if (w == group.end() || !w->is_object()) continue;
    FieldReader wr(*w, r.source(), "quantization_config.config_groups." + name + ".weights.");
    HUBLOAD_ASSIGN_OR_RETURN(q.bits, wr.size({"num_bits"}));
    HUBLOAD_ASSIGN_OR_RETURN(q.group_size, wr.size({"group_size"}));
    HUBLOAD_ASSIGN_OR_RETURN(auto strategy, wr.string({"strategy"}));
    q.strategy = strategy.value_or("");
    if (const nlohmann::json* a = wr.find({"actorder"})) {
      // "group" and "weight" both reorder columns; true is the older spelling.
      q.act_order = (a->is_boolean() && a->get<bool>()) || (a->is_string() && !a->get<std::string>().empty());
    }
    if (const nlohmann::json* b = wr.find({"block_structure"})) {
      if (!b->is_array() || b->size() != 2 || !(*b)[0].is_number_integer() || !(*b)[1].is_number_integer())
        return invalid_input(wr.where("block_structure") + " must be [n, k]");
      q.block_n = (*b)[0].get<std::int64_t>();
      q.block_k = (*b)[1].get<std::int64_t>();
    }
    break;
  }
  return ok();
}

}  // namespace

Status read_quantization(const FieldReader& top, ModelConfig& c) {
  const nlohmann::json* obj = top.find({"quantization_config"});
  if (!obj) return ok();
  if (!obj->is_object()) return invalid_input(top.where("quantization_config") + " must be an object");
  FieldReader r(*obj, top.source(), "quantization_config.");
  QuantizationConfig q;
  HUBLOAD_ASSIGN_OR_RETURN(auto name, r.string({"quant_method"}));
  q.method_name = name.value_or("");
  q.method = method_of(q.method_name);
  HUBLOAD_TRY(read_string_list(r, "modules_to_not_convert", q.modules_not_converted));
  switch (q.method) {
    case QuantMethod::fp8: {
      q.bits = 8;
      if (const nlohmann::json* b = r.find({"weight_block_size"})) {
        if (!b->is_array() || b->size() != 2 || !(*b)[0].is_number_integer() || !(*b)[1].is_number_integer() ||
            (*b)[0].get<std::int64_t>() <= 0 || (*b)[1].get<std::int64_t>() <= 0)
          return invalid_input(r.where("weight_block_size") + " must be [n, k] of positive integers");
        q.block_n = (*b)[0].get<std::int64_t>();
        q.block_k = (*b)[1].get<std::int64_t>();
        q.strategy = "block";
      } else {
        q.strategy = q.method_name == "fbgemm_fp8" ? "channel" : "tensor";
      }
      break;
    }
    case QuantMethod::awq:
    case QuantMethod::gptq: {
      HUBLOAD_ASSIGN_OR_RETURN(q.bits, r.size({"bits", "w_bit"}));
      // group_size -1 means one group per column: kept as written.
      const nlohmann::json* g = r.find({"group_size", "q_group_size"});
      if (g) {
        if (!g->is_number_integer() || g->get<std::int64_t>() == 0 || g->get<std::int64_t>() < -1)
          return invalid_input(r.where("group_size") + " must be a positive integer or -1");
        q.group_size = g->get<std::int64_t>();
      }
      HUBLOAD_ASSIGN_OR_RETURN(auto desc, r.boolean({"desc_act"}));
      q.act_order = desc.value_or(false);
      break;
    }
    case QuantMethod::compressed_tensors: HUBLOAD_TRY(read_compressed_tensors(r, q)); break;
    case QuantMethod::mxfp4:
      q.bits = 4;
      q.group_size = 32;  // one E8M0 scale per 32 values
      break;
    case QuantMethod::bitsandbytes: {
      HUBLOAD_ASSIGN_OR_RETURN(auto b4, r.boolean({"load_in_4bit"}));
      HUBLOAD_ASSIGN_OR_RETURN(auto b8, r.boolean({"load_in_8bit"}));
      if (b4.value_or(false)) q.bits = 4;
      else if (b8.value_or(false)) q.bits = 8;
      HUBLOAD_TRY(read_string_list(r, "llm_int8_skip_modules", q.modules_not_converted));
      break;
    }
    case QuantMethod::other: break;
  }
  c.quantization = std::move(q);
  return ok();
}

}  // namespace hubload::config_internal
