// hubload shard MODEL --tp W --out DIR: pre-sharded per-rank checkpoints.
#include <fmt/format.h>

#include <iostream>
#include <memory>

#include "cli/tp_options.h"
#include "hubload/load.h"

namespace hubload::cli {

namespace {

struct ShardCli {
  TpCliOptions tp;
  std::string out;
  std::uint64_t max_part = 0;
  int threads = 4;
};

int run_shard(const ShardCli& o) {
  std::string folder;
  Result<ShardPlan> plan = plan_from_cli(o.tp, folder);
  if (!plan) return report_error(plan.error(), o.tp.json);
  ShardWriteOptions options;
  options.out_dir = o.out;
  options.max_part_bytes = o.max_part;
  options.load.io_threads = o.threads;
  Result<ShardWriteResult> written = write_rank_shards(folder, *plan, options);
  if (!written) return report_error(written.error(), o.tp.json);
  if (o.tp.json) {
    print_json({{"out", o.out}, {"world_size", plan->world_size}, {"bytes_written", written->bytes_written},
                {"rank_files", written->rank_files}, {"plan", "tp-plan.json"}});
    return 0;
  }
  for (std::size_t r = 0; r < written->rank_files.size(); ++r)
    std::cout << fmt::format("rank {}: {}\n", r, fmt::join(written->rank_files[r], ", "));
  std::cout << fmt::format("wrote {} of tensors and tp-plan.json to {}\n", format_bytes(written->bytes_written),
                           o.out);
  return 0;
}

}  // namespace

Command add_shard_command(CLI::App& app) {
  auto o = std::make_shared<ShardCli>();
  Command c;
  c.app = app.add_subcommand("shard",
                             "Write pre-sharded per-rank checkpoints model-rank-{rank}-part-{part}.safetensors "
                             "(vLLM sharded_state naming) plus tp-plan.json, so that each rank later reads "
                             "only its own files.");
  add_tp_options(c.app, o->tp);
  c.app->add_option("--out", o->out, "Output folder")->required();
  c.app->add_option("--max-part-size", o->max_part, "Start a new part before a part exceeds this many bytes")
      ->transform(CLI::AsSizeValue(false));
  c.app->add_option("--threads", o->threads, "I/O threads reading the source")->check(CLI::PositiveNumber);
  c.run = [o] { return run_shard(*o); };
  return c;
}

}  // namespace hubload::cli
