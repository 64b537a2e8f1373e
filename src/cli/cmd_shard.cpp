// hubload shard MODEL --tp W --out DIR: pre-sharded per-rank checkpoints.
#include <fmt/format.h>

#include <iostream>

#include "cli/tp_options.h"
#include "hubload/load.h"

namespace hubload::cli {

namespace {

struct ShardArgs : TpCliOptions {
  std::string out;
  std::uint64_t max_part = 0;
  int threads = 4;
};

void declare_shard(CLI::App* cmd, ShardArgs& args) {
  cmd->description("Write pre-sharded per-rank checkpoints model-rank-{rank}-part-{part}.safetensors "
                   "(vLLM sharded_state naming) plus tp-plan.json, so that each rank later reads "
                   "only its own files.");
  add_tp_options(cmd, args);
  cmd->add_option("--out", args.out, "Output folder")->required();
  cmd->add_option("--max-part-size", args.max_part, "Start a new part before a part exceeds this many bytes")
      ->transform(CLI::AsSizeValue(false));
  cmd->add_option("--threads", args.threads, "I/O threads reading the source")->check(CLI::PositiveNumber);
}

Result<int> run_shard(const ShardArgs& o) {
  std::string folder;
  HUBLOAD_ASSIGN_OR_RETURN(ShardPlan plan, plan_from_cli(o, folder));
  ShardWriteOptions options;
  options.out_dir = o.out;
  options.max_part_bytes = o.max_part;
  options.load.io_threads = o.threads;
  HUBLOAD_ASSIGN_OR_RETURN(ShardWriteResult written, write_rank_shards(folder, plan, options));
  if (o.json) {
    print_json({{"out", o.out}, {"world_size", plan.world_size}, {"bytes_written", written.bytes_written},
                {"rank_files", written.rank_files}, {"plan", "tp-plan.json"}});
    return 0;
  }
  for (std::size_t r = 0; r < written.rank_files.size(); ++r)
    std::cout << fmt::format("rank {}: {}\n", r, fmt::join(written.rank_files[r], ", "));
  std::cout << fmt::format("wrote {} of tensors and tp-plan.json to {}\n", format_bytes(written.bytes_written),
                           o.out);
  return 0;
}

}  // namespace

Command add_shard_command(CLI::App& app) { return define_command(app, "shard", declare_shard, run_shard); }

}  // namespace hubload::cli
