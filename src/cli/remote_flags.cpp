#include "cli/remote_flags.h"

#include "cli/inspect_output.h"
#include "hubload/remote_plan.h"

namespace hubload::cli {

void add_remote_flags(CLI::App* app, RemoteFlags& flags) {
  auto* remote = app->add_flag("--remote", flags.remote,
                               "MODEL is a Hub repo id: read only its safetensors headers with HTTP Range requests "
                               "(cached per commit), download no weights");
  app->add_flag("--refresh", flags.refresh,
                "With --remote: ask the Hub which commit the revision is now, instead of reusing the last answer")
      ->needs(remote);
  add_hub_flags(app, flags.hub);
}

RemoteMetadataOptions remote_options(const RemoteFlags& flags, std::vector<std::string>& warnings) {
  RemoteMetadataOptions options;
  options.hub = hub_options(flags.hub);
  options.hub.on_warning = [&warnings](std::string_view w) { warnings.emplace_back(w); };
  options.refresh = flags.refresh;
  return options;
}

Result<ShardPlan> plan_remote_from_cli(const TpCliOptions& tp, const RemoteFlags& flags) {
  HUBLOAD_ASSIGN_OR_RETURN(PlanOptions plan_options, plan_options_from_cli(tp));
  std::vector<std::string> warnings;
  HUBLOAD_ASSIGN_OR_RETURN(RemotePlan remote, plan_remote_model(tp.model, remote_options(flags, warnings), plan_options));
  if (!tp.json) print_warnings(warnings);
  return std::move(remote.plan);
}

Result<int> run_remote_inspect(const std::string& repo_id, const RemoteFlags& flags, bool json) {
  std::vector<std::string> warnings;
  HUBLOAD_ASSIGN_OR_RETURN(RemoteSafetensors remote, remote_safetensors_metadata(repo_id, remote_options(flags, warnings)));
  if (!json) print_warnings(warnings);
  print_checkpoint(remote.checkpoint, json);
  return 0;
}

}  // namespace hubload::cli
