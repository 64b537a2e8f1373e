// hubload plan MODEL --tp W: the strategy of every tensor and the bytes per rank.
#include <fmt/format.h>

#include <iostream>
#include <memory>

#include "cli/remote_flags.h"
#include "cli/tp_options.h"

namespace hubload::cli {

namespace {

int run_plan(const TpCliOptions& o, const RemoteFlags& remote, bool pretty) {
  std::string folder = o.model;
  Result<ShardPlan> plan = remote.remote ? plan_remote_from_cli(o, remote)
                                                 : plan_from_cli(o, folder, hub_options(remote.hub));
  if (!plan) return report_error(plan.error(), o.json);
  if (o.json) {
    // Compact and streamed: a 140k-tensor plan is hundreds of MB pretty-printed.
    if (pretty) {
      print_json(nlohmann::json::parse(plan_to_json(*plan)));
    } else {
      write_plan_json(*plan, std::cout);
      std::cout << "\n";
    }
    return 0;
  }
  PlanSummary sum = summarize(*plan);
  std::cout << fmt::format("{}: {} tensors, tp {}\n\n", folder, plan->tensors.size(), plan->world_size);
  std::cout << fmt::format("{:<60} {:<16} {:<20} {}\n", "tensor", "strategy", "shape", "rank 0 shape");
  for (const TensorPlan& t : plan->tensors) {
    std::string rank0 = t.ranks[0].present ? fmt::format("[{}]", fmt::join(t.rank_shape(0), ", ")) : "-";
    std::cout << fmt::format("{:<60} {:<16} {:<20} {}\n", t.name, to_string(t.strategy),
                             fmt::format("[{}]", fmt::join(t.info.shape, ", ")), rank0);
  }
  std::cout << "\n";
  for (std::size_t r = 0; r < sum.rank_bytes.size(); ++r)
    std::cout << fmt::format("rank {}: {}\n", r, format_bytes(sum.rank_bytes[r]));
  std::cout << fmt::format("checkpoint: {} (replicated on every rank: {}); imbalance {:.2f}%\n",
                           format_bytes(sum.checkpoint_bytes), format_bytes(sum.replicated_bytes),
                           sum.imbalance * 100);
  for (const std::string& n : plan->notes) std::cout << "note: " << n << "\n";
  return 0;
}

}  // namespace

Command add_plan_command(CLI::App& app) {
  auto o = std::make_shared<TpCliOptions>();
  Command c;
  c.app = app.add_subcommand("plan",
                             "Show how a model's tensors split for tensor parallelism: the strategy of each "
                             "tensor (column, row, vocab, fused QKV, replicate, ...), bytes per rank and the "
                             "imbalance between ranks. Reads only config.json and safetensors headers.");
  add_tp_options(c.app, *o);
  auto remote = std::make_shared<RemoteFlags>();
  add_remote_flags(c.app, *remote);
  auto pretty = std::make_shared<bool>(false);
  c.app->add_flag("--pretty", *pretty, "With --json: indent the document (default: compact, one line)");
  c.run = [o, remote, pretty] { return run_plan(*o, *remote, *pretty); };
  return c;
}

}  // namespace hubload::cli
