// plan_tensor_parallel: validation first, then one strategy per tensor (rules
// file, then the family's table), then every split checked; all problems of a
// kind are reported together.
#include <regex>
#include <string>

#include "plan/rules.h"
#include "plan/split.h"

namespace hubload {
namespace {

using plan_internal::FamilyRules;
using plan_internal::Rule;

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

bool any_match(const std::regex& re, const std::vector<CheckpointTensor>& tensors) {
  for (const CheckpointTensor& t : tensors)
    if (std::regex_search(t.info.name, re)) return true;
  return false;
}

Status check_required(const FamilyRules& family, const ModelConfig& config,
                      const std::vector<CheckpointTensor>& tensors) {
  std::vector<std::string> missing;
  for (const std::string& p : family.required)
    if (!any_match(std::regex(p), tensors)) missing.push_back(readable(p));
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
    std::regex re(q);
    std::vector<bool> present(static_cast<std::size_t>(std::max<std::int64_t>(layers, 0)), false);
    std::smatch m;
    for (const CheckpointTensor& t : tensors) {
      if (!std::regex_search(t.info.name, m, re)) continue;
      std::size_t i = std::stoull(m[group].str());
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
  if (!validation.ok()) {
    std::vector<std::string> lines;
    for (const TpProblem& p : validation.problems) lines.push_back(p.field + ": " + p.message);
    return Error(ErrorKind::invalid_plan, "model " + config.source + " cannot be split for tp " +
                                              std::to_string(options.world_size) + ":" + join_lines(lines));
  }

  std::vector<Rule> rules;
  if (!options.rules_json.empty()) {
    HUBLOAD_ASSIGN_OR_RETURN(rules, plan_internal::parse_rules_file(options.rules_json, options.rules_source));
  }
  FamilyRules family = plan_internal::family_rules(config);
  if (family.rules.empty() && rules.empty())
    return unsupported("no tensor-parallel rules for model_type '" + config.model_type + "' (" + config.source +
                       "); pass a rules file");
  HUBLOAD_TRY(check_required(family, config, tensors));
  for (Rule& r : family.rules) rules.push_back(std::move(r));

  plan_internal::SplitContext ctx;
  ctx.world_size = options.world_size;
  ctx.q_heads = config.num_attention_heads.value_or(0);
  ctx.kv_heads = config.num_key_value_heads.value_or(ctx.q_heads);
  ctx.options = &options;

  ShardPlan plan;
  plan.world_size = options.world_size;
  plan.model_type = config.model_type;
  plan.row_bias = options.row_bias;
  plan.notes = validation.notes;
  std::vector<std::string> unmatched, problems;
  for (const CheckpointTensor& t : tensors) {
    TensorPlan tp;
    tp.name = t.info.name;
    tp.file = t.file;
    tp.info = t.info;
    const Rule* match = nullptr;
    for (const Rule& r : rules) {
      if (std::regex_search(t.info.name, r.re)) {
        match = &r;
        break;
      }
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
    Result<std::vector<TensorSlice>> slices = plan_internal::split_tensor(t.info, tp.strategy, dim, ctx);
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
