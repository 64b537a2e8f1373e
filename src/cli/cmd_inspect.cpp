// hubload inspect PATH: validate a safetensors checkpoint and list its tensors.
#include <memory>

#include "cli/command.h"
#include "cli/inspect_output.h"
#include "cli/remote_flags.h"
#include "hubload/safetensors.h"

namespace hubload::cli {

Command add_inspect_command(CLI::App& app) {
  struct Options {
    std::string path;
    bool json = false;
    RemoteFlags remote;
  };
  auto opts = std::make_shared<Options>();
  Command c;
  c.app = app.add_subcommand("inspect", "Validate a safetensors checkpoint and list its tensors");
  c.app->description(
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
  c.app->add_option("PATH", opts->path, "safetensors file, index file, or model folder")->required();
  c.app->add_flag("--json", opts->json, "print one JSON document instead of the table");
  add_remote_flags(c.app, opts->remote);
  c.run = [opts] {
    if (opts->remote.remote) return run_remote_inspect(opts->path, opts->remote, opts->json);
    auto checkpoint = open_checkpoint(opts->path);
    if (!checkpoint) return report_error(checkpoint.error(), opts->json);
    print_checkpoint(*checkpoint, opts->json);
    return 0;
  };
  return c;
}

}  // namespace hubload::cli
