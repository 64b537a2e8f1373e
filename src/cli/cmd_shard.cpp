// Placeholder until the shard subcommand lands; owned by the issue that builds it.
#include "cli/command.h"

namespace hubload::cli {

Command add_shard_command(CLI::App& app) {
  Command c;
  c.app = app.add_subcommand("shard", "(not built yet)");
  c.run = [] { return report_error(unsupported("'shard' is not built yet"), false); };
  return c;
}

}  // namespace hubload::cli
