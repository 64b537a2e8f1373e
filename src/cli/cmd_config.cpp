// Placeholder until the config subcommand lands; owned by the issue that builds it.
#include "cli/command.h"

namespace hubload::cli {

Command add_config_command(CLI::App& app) {
  Command c;
  c.app = app.add_subcommand("config", "(not built yet)");
  c.run = [] { return report_error(unsupported("'config' is not built yet"), false); };
  return c;
}

}  // namespace hubload::cli
