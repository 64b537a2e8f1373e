// The CLI's shared plumbing. Each subcommand lives in its own cmd_<name>.cpp and
// exposes one add_<name>_command(): it declares its options on the app and returns
// the function main() runs when that subcommand was chosen. The library never
// prints; only these files do.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

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

// Pretty JSON on stdout, one document.
void print_json(const nlohmann::json& doc);

// "1.50 GiB", "312 B".
std::string format_bytes(std::uint64_t bytes);

}  // namespace hubload::cli
