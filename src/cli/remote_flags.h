// `--remote` for `inspect` and `plan`: MODEL is a Hub repo id whose safetensors
// headers are read with HTTP Range requests (remote_metadata.h); no weights are
// downloaded. Adds the Hub connection flags (hub_flags.h) and --refresh.
#pragma once

#include <string>
#include <vector>

#include "cli/hub_flags.h"
#include "cli/tp_options.h"
#include "hubload/remote_metadata.h"

namespace hubload::cli {

struct RemoteFlags {
  bool remote = false;
  bool refresh = false;
  HubFlags hub;
};

void add_remote_flags(CLI::App* app, RemoteFlags& flags);

// Options for remote_safetensors_metadata; warnings are appended to `warnings`.
RemoteMetadataOptions remote_options(const RemoteFlags& flags, std::vector<std::string>& warnings);

// Both print the Hub's warnings to stderr, unless the output is JSON (then they
// are dropped: the document stays the only thing on stdout and stderr stays quiet
// for scripts).

// `hubload plan REPO --tp W --remote`: the plan from config.json and the remote headers.
Result<ShardPlan> plan_remote_from_cli(const TpCliOptions& tp, const RemoteFlags& flags);

// `hubload inspect REPO --remote`.
Result<int> run_remote_inspect(const std::string& repo_id, const RemoteFlags& flags, bool json);

}  // namespace hubload::cli
