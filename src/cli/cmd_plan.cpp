// hubload plan MODEL --tp W: the strategy of every tensor and the bytes per rank.
#include <fmt/format.h>

#include <iostream>

#include "cli/remote_flags.h"
#include "cli/tp_options.h"
#include "util/terminal_text.h"

namespace hubload::cli {

namespace {

struct PlanArgs : TpCliOptions {
  RemoteFlags remote;
  bool pretty = false;
};

void declare_plan(CLI::App* cmd, PlanArgs& args) {
  cmd->description("Show how a model's tensors split for tensor parallelism: the strategy of each "
                   "tensor (column, row, vocab, fused QKV, replicate, ...), bytes per rank and the "
                   "imbalance between ranks. Reads only config.json and safetensors headers.");
  add_tp_options(cmd, args);
  add_remote_flags(cmd, args.remote);
  cmd->add_flag("--pretty", args.pretty, "With --json: indent the document (default: compact, one line)");
}

Result<int> run_plan(const PlanArgs& o) {
  std::string folder = o.model;
  HUBLOAD_ASSIGN_OR_RETURN(ShardPlan plan, o.remote.remote ? plan_remote_from_cli(o, o.remote)
                                                           : plan_from_cli(o, folder, hub_options(o.remote.hub)));
  if (o.json) {
    // Compact and streamed: a 140k-tensor plan is hundreds of MB pretty-printed.
    if (o.pretty) {
      print_json(nlohmann::json::parse(plan_to_json(plan)));
    } else {
      write_plan_json(plan, std::cout);
      std::cout << "\n";
    }
    return 0;
  }
  PlanSummary sum = summarize(plan);
  std::cout << fmt::format("{}: {} tensors, tp {}\n\n", folder, plan.tensors.size(), plan.world_size);
  std::cout << fmt::format("{:<60} {:<16} {:<20} {}\n", "tensor", "strategy", "shape", "rank 0 shape");
  for (const TensorPlan& t : plan.tensors) {
    std::string rank0 = t.ranks[0].present ? fmt::format("[{}]", fmt::join(t.rank_shape(0), ", ")) : "-";
    // Names come from files or, with --remote, a server: escaped for the terminal.
    std::cout << fmt::format("{:<60} {:<16} {:<20} {}\n", util_internal::terminal_safe(t.name), to_string(t.strategy),
                             fmt::format("[{}]", fmt::join(t.info.shape, ", ")), rank0);
  }
  std::cout << "\n";
  for (std::size_t r = 0; r < sum.rank_bytes.size(); ++r)
    std::cout << fmt::format("rank {}: {}\n", r, format_bytes(sum.rank_bytes[r]));
  std::cout << fmt::format("checkpoint: {} (replicated on every rank: {}); imbalance {:.2f}%\n",
                           format_bytes(sum.checkpoint_bytes), format_bytes(sum.replicated_bytes),
                           sum.imbalance * 100);
  for (const std::string& n : plan.notes) std::cout << "note: " << n << "\n";
  return 0;
}

}  // namespace

Command add_plan_command(CLI::App& app) { return define_command(app, "plan", declare_plan, run_plan); }

}  // namespace hubload::cli
