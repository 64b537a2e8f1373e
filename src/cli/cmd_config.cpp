// `hubload config PATH [--tp W] [--json]`: what a config.json says about the
// model, and whether it splits across W tensor-parallel ranks.
#include <fmt/format.h>

#include <iostream>
#include <map>

#include "cli/command.h"
#include "config/config_json.h"
#include "hubload/config.h"

namespace hubload::cli {
namespace {

struct ConfigArgs {
  std::string path;
  int tp = 1;
  bool json = false;
};

std::string show(const std::optional<std::int64_t>& v) { return v ? std::to_string(*v) : "?"; }

std::string billions(std::int64_t n) {
  if (n >= 1'000'000'000) return fmt::format("{:.2f} B", n / 1e9);
  if (n >= 1'000'000) return fmt::format("{:.2f} M", n / 1e6);
  return std::to_string(n);
}

void print_text(const ModelConfig& c, const TpValidation& v) {
  std::string archs;
  for (const auto& a : c.architectures) archs += (archs.empty() ? "" : ", ") + a;
  fmt::print("{}\n", c.source);
  fmt::print("  model_type         {}{}{}\n", c.model_type.empty() ? "?" : c.model_type,
             c.text_config_key.empty() ? "" : fmt::format(" (language model under {}: {})", c.text_config_key, c.family),
             c.known_family ? "" : " (no family rules: standard keys only)");
  fmt::print("  architectures      {}\n", archs.empty() ? "?" : archs);
  if (!c.family_from_architecture.empty()) {
    fmt::print("  family             {} (from architectures {}: model_type '{}' is not one hubload knows)\n", c.family,
               c.family_from_architecture, c.model_type);
  }
  fmt::print("  layers             {}", show(c.num_hidden_layers));
  if (c.num_encoder_layers) fmt::print(" (encoder {}, decoder {})", *c.num_encoder_layers, show(c.num_decoder_layers));
  fmt::print("\n  hidden_size        {}\n", show(c.hidden_size));
  fmt::print("  attention heads    {} query, {} KV, head_dim {}\n", show(c.num_attention_heads),
             show(c.num_key_value_heads), show(c.head_dim));
  fmt::print("  intermediate_size  {}\n", show(c.intermediate_size));
  if (c.moe) {
    fmt::print("  experts            {} routed (top {}), width {}", c.moe->num_experts, show(c.moe->experts_per_token),
               show(c.moe->expert_intermediate_size));
    if (c.moe->num_shared_experts > 0) {
      fmt::print(", {} shared (width {})", c.moe->num_shared_experts, show(c.moe->shared_expert_intermediate_size));
    }
    if (c.moe->num_dense_layers > 0) fmt::print(", first {} layers dense", c.moe->num_dense_layers);
    fmt::print("\n");
  }
  if (c.moe && c.moe->layer_freq > 1 && c.num_hidden_layers) {
    fmt::print("  MoE layers         {} of {} (every {})\n", c.moe->moe_layer_count(*c.num_hidden_layers),
               *c.num_hidden_layers, c.moe->layer_freq);
  }
  if (c.num_mtp_layers > 0) fmt::print("  MTP layers         {} (after the main layers)\n", c.num_mtp_layers);
  if (c.attention_sinks) fmt::print("  attention sinks    one per head\n");
  if (c.linear_attention) {
    const LinearAttentionConfig& l = *c.linear_attention;
    fmt::print("  linear attention   {} key heads x {}, {} value heads x {}, conv {}; full attention every {}\n",
               l.num_key_heads, l.key_head_dim, l.num_value_heads, l.value_head_dim, l.conv_kernel,
               l.full_attention_interval);
  }
  if (!c.layer_types.empty()) {
    std::map<std::string, int> kinds;
    for (const auto& t : c.layer_types) kinds[t]++;
    std::string k;
    for (const auto& [t, n] : kinds) k += fmt::format("{}{} {}", k.empty() ? "" : ", ", n, t);
    fmt::print("  layer types        {}\n", k);
  }
  if (c.quantization) {
    const QuantizationConfig& q = *c.quantization;
    std::string d = std::string(to_string(q.method));
    if (q.method_name != d) d += " (" + q.method_name + ")";
    if (q.bits) d += fmt::format(", {} bits", *q.bits);
    if (q.group_size) d += fmt::format(", group {}", *q.group_size);
    if (q.block_n) d += fmt::format(", block {}x{}", *q.block_n, q.block_k.value_or(0));
    if (!q.strategy.empty() && !q.block_n) d += ", " + q.strategy;
    if (q.act_order) d += ", act-order";
    if (!q.modules_not_converted.empty()) d += fmt::format(", {} modules not converted", q.modules_not_converted.size());
    fmt::print("  quantization       {}\n", d);
  }
  if (c.mla) {
    fmt::print("  MLA                q_lora_rank {}, kv_lora_rank {}, qk_nope {}, qk_rope {}, v {}\n",
               show(c.mla->q_lora_rank), c.mla->kv_lora_rank, c.mla->qk_nope_head_dim, c.mla->qk_rope_head_dim,
               c.mla->v_head_dim);
  }
  fmt::print("  vocab_size         {} ({} embeddings)\n", show(c.vocab_size), c.tie_word_embeddings ? "tied" : "untied");
  fmt::print("  max positions      {}\n", show(c.max_position_embeddings));
  if (c.sliding_window) fmt::print("  sliding_window     {}\n", *c.sliding_window);
  if (c.dtype) fmt::print("  dtype              {}\n", *c.dtype);
  auto params = c.estimated_parameters();
  fmt::print("  parameters (est.)  {}\n", params ? billions(*params) : "?");
  if (auto bytes = c.estimated_weight_bytes()) fmt::print("  weights (est.)     {}\n", format_bytes(static_cast<std::uint64_t>(*bytes)));
  for (const auto& d : c.derivations) fmt::print("  derived: {}\n", d);
  if (!c.undetermined.empty()) {
    std::string u;
    for (const auto& f : c.undetermined) u += (u.empty() ? "" : ", ") + f;
    fmt::print("  undetermined: {}\n", u);
  }
  fmt::print("\ntensor parallel, tp {}: {}\n", v.world_size, v.ok() ? "ok" : "INVALID");
  if (v.heads_per_rank) fmt::print("  query heads per rank  {}\n", *v.heads_per_rank);
  if (v.kv_heads_per_rank) {
    fmt::print("  KV heads per rank     {}{}\n", *v.kv_heads_per_rank,
               v.kv_replication > 1 ? fmt::format(" (each replicated on {} ranks)", v.kv_replication) : "");
  }
  for (const auto& p : v.problems) fmt::print("  problem: {}\n", p.message);
  for (const auto& n : v.notes) fmt::print("  note: {}\n", n);
}

Result<int> run_config(const ConfigArgs& a) {
  HUBLOAD_ASSIGN_OR_RETURN(ModelConfig config, load_model_config(a.path));
  TpValidation v = validate_tensor_parallel(config, a.tp);
  if (a.json) {
    nlohmann::json doc = config_internal::to_json(config);
    doc["tensor_parallel"] = config_internal::to_json(v);
    print_json(doc);
  } else {
    print_text(config, v);
  }
  if (v.ok()) return 0;
  std::string msg = fmt::format("{}: cannot split across tp {}:", config.source, a.tp);
  for (const auto& p : v.problems) msg += " " + p.message + ";";
  msg.pop_back();
  // The JSON document above already carries the problems; keep stdout one document.
  return report_error(Error(ErrorKind::invalid_plan, msg), false);
}

void declare_config(CLI::App* cmd, ConfigArgs& args) {
  cmd->description(
      "Reads a Hugging Face config.json the way transformers' AutoConfig does (per-family key\n"
      "spellings such as GPT-2's n_embd or T5's d_model, and each family's defaults), prints\n"
      "the model's shape and a parameter estimate, and checks that it splits across --tp ranks:\n"
      "query heads, KV heads (or their replication when tp exceeds them), MLP and expert widths\n"
      "must divide by tp; vocab padding is reported as a note.\n"
      "Exit status: 0 when valid, 15 (invalid_plan) when tp does not fit, 3 for a bad config,\n"
      "4 when the file does not exist.");
  cmd->add_option("path", args.path, "config.json, or a folder holding one (e.g. a snapshot)")->required();
  cmd->add_option("--tp", args.tp, "Tensor-parallel world size to check")->default_val(1);
  cmd->add_flag("--json", args.json, "Print every field and the validation as one JSON document");
}

}  // namespace

Command add_config_command(CLI::App& app) { return define_command(app, "config", declare_config, run_config); }

}  // namespace hubload::cli
