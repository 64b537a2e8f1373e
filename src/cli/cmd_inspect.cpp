// Placeholder until the inspect subcommand lands; owned by the issue that builds it.
#include "cli/command.h"

namespace hubload::cli {

Command add_inspect_command(CLI::App& app) {
  Command c;
  c.app = app.add_subcommand("inspect", "(not built yet)");
  c.run = [] { return report_error(unsupported("'inspect' is not built yet"), false); };
  return c;
}

}  // namespace hubload::cli
