// Placeholder until the load subcommand lands; owned by the issue that builds it.
#include "cli/command.h"

namespace hubload::cli {

Command add_load_command(CLI::App& app) {
  Command c;
  c.app = app.add_subcommand("load", "(not built yet)");
  c.run = [] { return report_error(unsupported("'load' is not built yet"), false); };
  return c;
}

}  // namespace hubload::cli
