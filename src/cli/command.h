// The CLI's shared plumbing. Each subcommand lives in its own cmd_<name>.cpp and
// exposes one add_<name>_command(): it declares its options on the app and returns
// the function main() runs when that subcommand was chosen. The library never
// prints; only these files do.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hubload/error.h"

namespace hubload::cli {

using Run = std::function<int()>;

struct Command {
  CLI::App* app = nullptr;
  Run run;
};

Command add_inspect_command(CLI::App& app);
Command add_config_command(CLI::App& app);
Command add_download_command(CLI::App& app);
Command add_serve_command(CLI::App& app);
Command add_plan_command(CLI::App& app);
Command add_shard_command(CLI::App& app);
Command add_load_command(CLI::App& app);
Command add_cache_command(CLI::App& app);

// The process exit code for an error kind (README "Exit codes").
int exit_code(ErrorKind kind);
inline constexpr int kExitUsage = 2;

// Prints the error to stderr ("hubload: not_found: ...") or, with json, as
// {"error": {"kind": ..., "message": ...}} on stdout; returns exit_code(kind).
int report_error(const Error& error, bool json);

// Warnings on stderr, one line each ("hubload: warning: ...").
void print_warnings(const std::vector<std::string>& warnings);

// Pretty JSON on stdout, one document.
void print_json(const nlohmann::json& doc);

// "1.50 GiB", "312 B".
std::string format_bytes(std::uint64_t bytes);

// The skeleton every subcommand shares. `declare` gives the subcommand its
// description and binds its options to one Args (which has the command's --json
// flag as `json`); `run` does the work, prints the result and returns the exit
// code, or an Error, which becomes report_error's output and exit code. Args is
// shared because CLI11 writes into it while parsing and run reads it afterwards.
template <class Args>
Command define_command(CLI::App& parent, const std::string& name, void (*declare)(CLI::App*, Args&),
                       Result<int> (*run)(const Args&)) {
  auto args = std::make_shared<Args>();
  Command c;
  c.app = parent.add_subcommand(name);
  declare(c.app, *args);
  c.run = [args, run] {
    Result<int> code = run(*args);
    return code ? *code : report_error(code.error(), args->json);
  };
  return c;
}

}  // namespace hubload::cli
