// hubload: get a Hugging Face model onto the machine and ready for tensor parallelism.
#include <iostream>
#include <string>
#include <vector>

#include "cli/command.h"
#include "hubload/version.h"

int main(int argc, char** argv) {
  using namespace hubload::cli;
  CLI::App app{
      "hubload: download Hugging Face models into the shared Hub cache, understand their\n"
      "configuration, and load tensor-parallel shards. Each subcommand has --help.",
      "hubload"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "hubload " + std::string(hubload::version()));
  app.footer("Exit codes: 0 ok, 1 internal, 2 usage, 3 invalid input, 4 not found, 5 I/O,\n"
             "6 network, 7 integrity, 8 unauthorized, 9 gated, 10 offline, 11 conflict,\n"
             "12 unsupported, 13 rate limited, 14 cancelled, 15 invalid tensor-parallel plan.");

  std::vector<Command> commands = {
      add_inspect_command(app), add_config_command(app), add_download_command(app),
      add_serve_command(app),   add_plan_command(app),   add_shard_command(app),
      add_load_command(app),    add_cache_command(app),
  };
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : kExitUsage;
  }
  for (const Command& c : commands) {
    if (c.app->parsed()) return c.run();
  }
  return kExitUsage;
}
