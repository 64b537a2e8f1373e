#include "cli/hub_flags.h"

namespace hubload::cli {

void add_hub_flags(CLI::App* app, HubFlags& flags) {
  app->add_option("--revision", flags.revision, "Branch, tag, 40-hex commit or refs/pr/N")->capture_default_str();
  app->add_option("--cache-dir", flags.cache_dir, "Hub cache folder (default: HF_HUB_CACHE or HF_HOME/hub)");
  auto* token = app->add_option("--token", flags.token, "Hub token (default: HF_TOKEN, then the token file)");
  app->add_flag("--no-token", flags.no_token, "Send no token, even if one is configured")->excludes(token);
  app->add_option("--endpoint", flags.endpoint, "Hub URL (default: HF_ENDPOINT or https://huggingface.co)");
}

HubOptions hub_options(const HubFlags& flags) {
  HubOptions hub;
  hub.environment = read_hub_environment();
  apply_hub_timeouts(hub.environment, hub.transfer);
  hub.revision = flags.revision;
  if (!flags.cache_dir.empty()) hub.cache_dir = flags.cache_dir;
  if (!flags.token.empty()) hub.token = flags.token;
  hub.no_token = flags.no_token;
  if (!flags.endpoint.empty()) hub.endpoint = flags.endpoint;
  return hub;
}

}  // namespace hubload::cli
