#include "cli/tp_options.h"

#include <filesystem>

#include "hubload/file.h"

namespace hubload::cli {

void add_tp_options(CLI::App* app, TpCliOptions& o) {
  app->add_option("MODEL", o.model, "Model folder (config.json plus safetensors shards)")->required();
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
  app->add_flag("--json", o.json, "Machine-readable output");
}

Result<std::string> resolve_model_folder(const std::string& model) {
  std::error_code ec;
  if (!std::filesystem::is_directory(model, ec))
    return not_found("model folder '" + model + "' does not exist (MODEL must be a local folder)");
  return model;
}

Result<PlanOptions> plan_options_from_cli(const TpCliOptions& o) {
  PlanOptions options;
  options.world_size = o.tp;
  options.replicate_unmatched = o.replicate_unmatched;
  options.row_bias = o.row_bias == "rank0" ? RowBias::rank0 : RowBias::all_ranks;
  options.vocab_pad_multiple = o.vocab_pad;
  if (!o.rules_file.empty()) {
    HUBLOAD_ASSIGN_OR_RETURN(options.rules_json, read_text_file(o.rules_file));
    options.rules_source = o.rules_file;
  }
  return options;
}

Result<ShardPlan> plan_from_cli(const TpCliOptions& o, std::string& folder) {
  HUBLOAD_ASSIGN_OR_RETURN(folder, resolve_model_folder(o.model));
  HUBLOAD_ASSIGN_OR_RETURN(PlanOptions options, plan_options_from_cli(o));
  return plan_model_folder(folder, options);
}

}  // namespace hubload::cli
