// Placeholder until the download subcommand lands; owned by the issue that builds it.
#include "cli/command.h"

namespace hubload::cli {

Command add_download_command(CLI::App& app) {
  Command c;
  c.app = app.add_subcommand("download", "(not built yet)");
  c.run = [] { return report_error(unsupported("'download' is not built yet"), false); };
  return c;
}

}  // namespace hubload::cli
