// Options shared by `plan`, `shard` and `load`: the model folder, the world size
// and the planner's knobs.
#pragma once

#include <string>

#include "cli/command.h"
#include "hubload/hub.h"
#include "hubload/plan.h"

namespace hubload::cli {

struct TpCliOptions {
  std::string model;
  int tp = 1;
  std::string rules_file;
  bool replicate_unmatched = false;
  std::string row_bias = "all";
  std::uint64_t vocab_pad = 64;
  bool json = false;
  bool expert_parallel = false;
};

void add_tp_options(CLI::App* app, TpCliOptions& o);

// MODEL -> a local folder: a folder as is, a repo id through the Hub cache
// (offline; hub carries --revision/--cache-dir), here and nowhere else.
Result<std::string> resolve_model_folder(const std::string& model, const HubOptions& hub);

// Reads the rules file and builds the plan for the resolved folder; the first
// form resolves repo ids with the environment's cache and revision "main".
Result<ShardPlan> plan_from_cli(const TpCliOptions& o, std::string& folder);
Result<ShardPlan> plan_from_cli(const TpCliOptions& o, std::string& folder, const HubOptions& hub);

// The planner's options from the flags (reads the rules file); also used by `plan --remote`.
Result<PlanOptions> plan_options_from_cli(const TpCliOptions& o);

}  // namespace hubload::cli
