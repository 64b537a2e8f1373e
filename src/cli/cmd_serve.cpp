// Placeholder until the serve subcommand lands; owned by the issue that builds it.
#include "cli/command.h"

namespace hubload::cli {

Command add_serve_command(CLI::App& app) {
  Command c;
  c.app = app.add_subcommand("serve", "(not built yet)");
  c.run = [] { return report_error(unsupported("'serve' is not built yet"), false); };
  return c;
}

}  // namespace hubload::cli
