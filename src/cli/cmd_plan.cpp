// Placeholder until the plan subcommand lands; owned by the issue that builds it.
#include "cli/command.h"

namespace hubload::cli {

Command add_plan_command(CLI::App& app) {
  Command c;
  c.app = app.add_subcommand("plan", "(not built yet)");
  c.run = [] { return report_error(unsupported("'plan' is not built yet"), false); };
  return c;
}

}  // namespace hubload::cli
