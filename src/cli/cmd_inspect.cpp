// hubload inspect PATH: validate a safetensors checkpoint and list its tensors.
#include "cli/command.h"
#include "cli/inspect_output.h"
#include "cli/remote_flags.h"
#include "hubload/safetensors.h"

namespace hubload::cli {
namespace {

struct InspectArgs {
  std::string path;
  bool json = false;
  RemoteFlags remote;
};

void declare_inspect(CLI::App* cmd, InspectArgs& args) {
  cmd->description(
      "Validate a safetensors checkpoint and list its tensors.\n\n"
      "PATH is a .safetensors file, a model.safetensors.index.json, or a model folder\n"
      "(its index is preferred; without one, every *.safetensors in it, sorted).\n"
      "Every header is checked strictly (offsets tile the data exactly, known dtypes,\n"
      "no duplicate keys, no trailing bytes), and the index is checked against the\n"
      "shards: a missing shard, a tensor absent from its shard or present in two are\n"
      "errors (exit code 3); a total_size mismatch or unindexed tensors are warnings.\n\n"
      "Prints a table (name, dtype, shape, bytes, shard) and totals (parameters,\n"
      "bytes by dtype, shards); --json prints one machine-readable document.\n\n"
      "With --remote, PATH is a Hub repo id (org/name): only the safetensors headers\n"
      "are fetched, with HTTP Range requests, and checked the same way; nothing else\n"
      "is downloaded but the index. Headers are cached per commit, so asking again\n"
      "makes no request (--refresh asks the Hub for the revision's commit again).");
  cmd->add_option("PATH", args.path, "safetensors file, index file, or model folder")->required();
  cmd->add_flag("--json", args.json, "print one JSON document instead of the table");
  add_remote_flags(cmd, args.remote);
}

Result<int> run_inspect(const InspectArgs& args) {
  if (args.remote.remote) return run_remote_inspect(args.path, args.remote, args.json);
  HUBLOAD_ASSIGN_OR_RETURN(Checkpoint checkpoint, open_checkpoint(args.path));
  print_checkpoint(checkpoint, args.json);
  return 0;
}

}  // namespace

Command add_inspect_command(CLI::App& app) { return define_command(app, "inspect", declare_inspect, run_inspect); }

}  // namespace hubload::cli
