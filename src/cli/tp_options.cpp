#include "cli/tp_options.h"

#include <algorithm>
#include <filesystem>

#include "cli/hub_flags.h"
#include "hubload/file.h"
#include "hubload/hub.h"

namespace hubload::cli {

void add_tp_options(CLI::App* app, TpCliOptions& o) {
  app->add_option("MODEL", o.model, "Model folder (config.json plus safetensors shards), or a repo id already in the Hub cache")->required();
  app->add_option("--tp", o.tp, "Tensor-parallel world size W")->required();
  app->add_option("--rules", o.rules_file,
                  "JSON rules file {\"rules\":[{\"pattern\":REGEX,\"strategy\":S,\"dim\":D}]}, tried before "
                  "the built-in rules");
  app->add_flag("--replicate-unmatched", o.replicate_unmatched,
                "Replicate tensors no rule matches instead of failing");
  app->add_option("--row-bias", o.row_bias,
                  "Row-parallel biases: 'all' (whole on every rank, default) or 'rank0' (rank 0 only)")
      ->check(CLI::IsMember({"all", "rank0"}));
  app->add_option("--vocab-pad", o.vocab_pad,
                  "When vocab % W != 0, pad the vocab to a multiple of lcm(N, W) (default 64; 0 = error)");
  app->add_flag("--expert-parallel", o.expert_parallel,
                "Expert parallelism: routed experts whole to ranks (contiguous ranges, the first E mod W ranks "
                "one more); attention and shared experts stay tensor-parallel");
  app->add_flag("--json", o.json, "Machine-readable output");
}

Result<std::string> resolve_model_folder(const std::string& model, const HubOptions& hub) {
  // A folder as is; a repo id through the cache only (never the network):
  // `hubload download` first, then plan/shard/load by the same name. An argument
  // that can only be a path (absolute, relative, or deeper than org/name) and is
  // missing is a missing folder, not a malformed repo id.
  std::error_code ec;
  const bool path_like = model.starts_with('/') || model.starts_with('.') ||
                         std::count(model.begin(), model.end(), '/') > 1;
  if (path_like && !std::filesystem::is_directory(model, ec))
    return not_found("model folder '" + model + "' does not exist");
  HUBLOAD_ASSIGN_OR_RETURN(std::filesystem::path folder, resolve_model_path(model, hub));
  return folder.string();
}

Result<PlanOptions> plan_options_from_cli(const TpCliOptions& o) {
  PlanOptions options;
  options.world_size = o.tp;
  options.replicate_unmatched = o.replicate_unmatched;
  options.row_bias = o.row_bias == "rank0" ? RowBias::rank0 : RowBias::all_ranks;
  options.vocab_pad_multiple = o.vocab_pad;
  options.expert_parallel = o.expert_parallel;
  if (!o.rules_file.empty()) {
    HUBLOAD_ASSIGN_OR_RETURN(options.rules_json, read_text_file(o.rules_file));
    options.rules_source = o.rules_file;
  }
  return options;
}

Result<ShardPlan> plan_from_cli(const TpCliOptions& o, std::string& folder) {
  return plan_from_cli(o, folder, hub_options(HubFlags{}));
}

Result<ShardPlan> plan_from_cli(const TpCliOptions& o, std::string& folder, const HubOptions& hub) {
  HUBLOAD_ASSIGN_OR_RETURN(folder, resolve_model_folder(o.model, hub));
  HUBLOAD_ASSIGN_OR_RETURN(PlanOptions options, plan_options_from_cli(o));
  return plan_model_folder(folder, options);
}

}  // namespace hubload::cli
