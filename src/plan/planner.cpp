// plan_tensor_parallel: validation first, then one strategy per tensor (rules
// file, then the family's table), then every split checked; all problems of a
// kind are reported together.
#include <charconv>
#include <string>
#include <unordered_map>

#include "plan/expert_parallel.h"
#include "plan/quantized.h"
#include "plan/rules.h"
#include "plan/split.h"

namespace hubload {
namespace {

using plan_internal::FamilyRules;
using plan_internal::Rule;
using plan_internal::NamePattern;

std::string join_lines(const std::vector<std::string>& items, std::size_t limit = 50) {
  std::string out;
  for (std::size_t i = 0; i < items.size() && i < limit; ++i) out += "\n  " + items[i];
  if (items.size() > limit) out += "\n  ... and " + std::to_string(items.size() - limit) + " more";
  return out;
}

// A pattern as a reader would write the name: "model.layers.1.self_attn.o_proj.weight".
std::string readable(std::string p) {
  std::string out;
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (p[i] == '\\' && i + 1 < p.size()) {
      out += p[++i];
    } else if (p[i] != '^' && p[i] != '$') {
      out += p[i];
    }
  }
  return out;
}

bool any_match(const NamePattern& re, const std::vector<std::string_view>& names) {
  for (std::string_view n : names)
    if (re.search(n)) return true;
  return false;
}

// "model.layers.17.mlp.experts.3.up_proj.weight" -> "model.layers.#.mlp.experts.#.up_proj.weight".
// Built-in rules treat every layer and expert number alike, so one regex search per
// name shape decides for all names of that shape (a few hundred shapes in 140k names).
std::string name_shape(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  std::size_t i = 0;
  while (i < name.size()) {
    std::size_t j = i;
    while (j < name.size() && name[j] >= '0' && name[j] <= '9') ++j;
    const bool component = j > i && (i == 0 || name[i - 1] == '.') && (j == name.size() || name[j] == '.');
    if (component) {
      out += '#';
      i = j;
    } else {
      out += name[i++];
    }
  }
  return out;
}

// `names`: the names the rules see (a quantized tensor's layer weight, "P.weight");
// `shapes`: their name_shape.
Status check_required(const FamilyRules& family, const ModelConfig& config, const std::vector<std::string_view>& names,
                      const std::vector<std::string>& shapes) {
  std::vector<std::string> missing;
  for (const std::string& p : family.required) {
    HUBLOAD_ASSIGN_OR_RETURN(NamePattern re, NamePattern::compile(p, "required tensor"));
    if (!any_match(re, names)) missing.push_back(readable(p));
  }
  // Per-layer patterns: one pass over the names collects the layers present.
  std::int64_t layers = config.num_hidden_layers.value_or(0);
  for (const std::string& p : family.required_per_layer) {
    std::string q = p;
    const std::size_t at = q.find("{i}");
    // The layer's capture group is the one opened at "{i}": count the groups before it.
    std::size_t group = 1;
    for (std::size_t i = 0; i < at; ++i)
      if (q[i] == '(' && (i == 0 || q[i - 1] != '\\')) ++group;
    q.replace(at, 3, "(\\d+)");
    HUBLOAD_ASSIGN_OR_RETURN(NamePattern re, NamePattern::compile(q, "required per-layer tensor"));
    std::vector<bool> present(static_cast<std::size_t>(std::max<std::int64_t>(layers, 0)), false);
    std::unordered_map<std::string_view, bool> shape_matches;
    for (std::size_t k = 0; k < names.size(); ++k) {
      const std::string_view n = names[k];
      auto [it, fresh] = shape_matches.try_emplace(shapes[k], false);
      if (fresh) it->second = re.search(n);
      if (!it->second) continue;
      const std::optional<std::string_view> layer = re.search_group(n, static_cast<int>(group));
      std::size_t i = 0;
      if (!layer || std::from_chars(layer->data(), layer->data() + layer->size(), i).ec != std::errc()) continue;
      if (i < present.size()) present[i] = true;
    }
    for (std::size_t i = 0; i < present.size(); ++i) {
      if (present[i]) continue;
      std::string name = p;
      name.replace(name.find("{i}"), 3, std::to_string(i));
      missing.push_back(readable(name));
    }
  }
  if (missing.empty()) return ok();
  return not_found("checkpoint lacks " + std::to_string(missing.size()) + " tensor(s) that the " +
                   config.model_type + " config (" + config.source + ") requires:" + join_lines(missing));
}

}  // namespace

Result<ShardPlan> plan_tensor_parallel(const ModelConfig& config, const std::vector<CheckpointTensor>& tensors,
                                       const PlanOptions& options) {
  TpValidation validation = validate_tensor_parallel(config, options.world_size);
  if (options.expert_parallel && config.moe && options.world_size >= 1) {
    // Whole experts: their width is never split.
    std::erase_if(validation.problems, [](const TpProblem& p) { return p.field == "expert_intermediate_size"; });
    const SliceRange last = expert_range(config.moe->num_experts, options.world_size, options.world_size - 1);
    const SliceRange first = expert_range(config.moe->num_experts, options.world_size, 0);
    validation.notes.push_back("expert parallel: " + std::to_string(config.moe->num_experts) + " experts, " +
                               std::to_string(first.length) + " on rank 0 ... " + std::to_string(last.length) +
                               " on rank " + std::to_string(options.world_size - 1) + ", whole");
  }
  if (!validation.ok()) {
    std::vector<std::string> lines;
    for (const TpProblem& p : validation.problems) lines.push_back(p.field + ": " + p.message);
    return Error(ErrorKind::invalid_plan, "model " + config.source + " cannot be split for tp " +
                                              std::to_string(options.world_size) + ":" + join_lines(lines));
  }

  if (config.quantization && config.quantization->method == QuantMethod::bitsandbytes && options.world_size > 1)
    return Error(ErrorKind::invalid_plan,
                 "model " + config.source + " is pre-quantized with bitsandbytes, whose packed 4/8-bit weights and "
                 "quant_state cannot be split: tp " + std::to_string(options.world_size) +
                 " is refused (vLLM: \"Prequant BitsAndBytes models with tensor parallelism is not supported\"); "
                 "use tp 1, pipeline parallelism, or the unquantized checkpoint");

  std::vector<Rule> rules;
  if (!options.rules_json.empty()) {
    HUBLOAD_ASSIGN_OR_RETURN(rules, plan_internal::parse_rules_file(options.rules_json, options.rules_source));
  }
  FamilyRules family = plan_internal::family_rules(config);
  if (family.rules.empty() && rules.empty())
    return unsupported("no tensor-parallel rules for model_type '" + config.model_type + "' (" + config.source +
                       "); pass a rules file");
  // Scales, packed weights and zero points take the rule of their layer's weight.
  std::vector<std::optional<plan_internal::QuantLayout>> quantized(tensors.size());
  std::vector<std::string_view> rule_names(tensors.size());
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    quantized[i] = plan_internal::quant_layout(tensors[i].info.name, tensors[i].info, config.quantization);
    rule_names[i] = quantized[i] ? std::string_view(quantized[i]->weight_name) : std::string_view(tensors[i].info.name);
  }
  std::vector<std::string> shapes(tensors.size());
  for (std::size_t i = 0; i < tensors.size(); ++i) shapes[i] = name_shape(rule_names[i]);
  HUBLOAD_TRY(check_required(family, config, rule_names, shapes));
  // A rules file may name particular layers: then every name is matched on its own.
  const bool memoize = options.rules_json.empty();
  std::unordered_map<std::string_view, const Rule*> rule_of_shape;
  for (Rule& r : family.rules) rules.push_back(std::move(r));

  plan_internal::SplitContext ctx;
  ctx.world_size = options.world_size;
  ctx.q_heads = config.num_attention_heads.value_or(0);
  ctx.kv_heads = config.num_key_value_heads.value_or(ctx.q_heads);
  ctx.options = &options;
  if (config.quantization && config.quantization->method == QuantMethod::mxfp4) ctx.mxfp4_block = 32;
  if (config.linear_attention) {
    ctx.linear_key_dim = config.linear_attention->num_key_heads * config.linear_attention->key_head_dim;
    ctx.linear_value_dim = config.linear_attention->num_value_heads * config.linear_attention->value_head_dim;
  }

  plan_internal::QuantSplitter quant(ctx);
  // FP8 block scales need their weight's exact size (the last block may be partial).
  std::unordered_map<std::string_view, const TensorInfo*> by_name;
  if (config.quantization) {
    by_name.reserve(tensors.size());
    for (const CheckpointTensor& t : tensors) by_name.emplace(t.info.name, &t.info);
  }

  ShardPlan plan;
  plan.world_size = options.world_size;
  plan.model_type = config.model_type;
  plan.row_bias = options.row_bias;
  plan.notes = validation.notes;
  std::vector<std::string> unmatched, problems;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const CheckpointTensor& t = tensors[i];
    TensorPlan tp;
    tp.name = t.info.name;
    tp.file = t.file;
    tp.info = t.info;
    if (options.expert_parallel && config.moe) {
      if (auto ep = plan_internal::expert_parallel_slices(t.info, config.moe->num_experts, options.world_size)) {
        tp.strategy = Strategy::experts;
        tp.rule = "(expert parallel)";
        tp.ranks = std::move(*ep);
        plan.tensors.push_back(std::move(tp));
        continue;
      }
    }
    const std::string_view rule_name = rule_names[i];
    auto memo = memoize ? rule_of_shape.find(shapes[i]) : rule_of_shape.end();
    const Rule* match = nullptr;
    if (memo != rule_of_shape.end()) {
      match = memo->second;
    } else {
      for (const Rule& r : rules) {
        if (r.re.search(rule_name)) {
          match = &r;
          break;
        }
      }
      if (memoize) rule_of_shape.emplace(shapes[i], match);
    }
    int dim = -1;
    if (match) {
      tp.strategy = match->strategy;
      tp.rule = match->pattern;
      dim = match->dim;
    } else if (options.replicate_unmatched) {
      tp.strategy = Strategy::replicate;
      tp.rule = "(unmatched, replicated)";
    } else {
      unmatched.push_back(t.info.name);
      continue;
    }
    Result<std::vector<TensorSlice>> slices = [&] {
      if (!quantized[i]) return plan_internal::split_tensor(t.info, tp.strategy, dim, ctx);
      auto w = by_name.find(quantized[i]->weight_name);
      return quant.split(t.info, *quantized[i], tp.strategy, dim, w == by_name.end() ? nullptr : w->second);
    }();
    if (!slices) {
      problems.push_back(slices.error().message());
      continue;
    }
    tp.ranks = std::move(slices).value();
    plan.tensors.push_back(std::move(tp));
  }
  if (!problems.empty())
    return Error(ErrorKind::invalid_plan, std::to_string(problems.size()) + " tensor(s) cannot be split for tp " +
                                              std::to_string(options.world_size) + ":" + join_lines(problems));
  if (!unmatched.empty())
    return unsupported(std::to_string(unmatched.size()) + " tensor(s) match no " + config.model_type +
                       " rule (add a rules file or --replicate-unmatched):" + join_lines(unmatched));
  return plan;
}

}  // namespace hubload
