#include "hubload/hub_environment.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>

namespace hubload {
namespace {

std::optional<std::string> env_value(const char* name) {
  const char* value = std::getenv(name);  // NOLINT(concurrency-mt-unsafe): read once, up front
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

// Python expands ~ in every path variable.
std::filesystem::path expand_user(const std::string& value, const HubEnvironment& env) {
  if (value == "~" || value.starts_with("~/")) {
    return std::filesystem::path(env.home.value_or("/")) / value.substr(value == "~" ? 1 : 2);
  }
  return value;
}

bool truthy(const std::optional<std::string>& value) {
  if (!value) return false;
  std::string upper = *value;
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return upper == "1" || upper == "ON" || upper == "YES" || upper == "TRUE";
}

}  // namespace

HubEnvironment read_hub_environment() {
  HubEnvironment env;
  env.hf_hub_cache = env_value("HF_HUB_CACHE");
  env.huggingface_hub_cache = env_value("HUGGINGFACE_HUB_CACHE");
  env.hf_home = env_value("HF_HOME");
  env.xdg_cache_home = env_value("XDG_CACHE_HOME");
  env.home = env_value("HOME");
  env.hf_endpoint = env_value("HF_ENDPOINT");
  env.hf_hub_offline = env_value("HF_HUB_OFFLINE");
  env.transformers_offline = env_value("TRANSFORMERS_OFFLINE");
  env.hf_token = env_value("HF_TOKEN");
  env.hugging_face_hub_token = env_value("HUGGING_FACE_HUB_TOKEN");
  env.hf_token_path = env_value("HF_TOKEN_PATH");
  env.hf_hub_download_timeout = env_value("HF_HUB_DOWNLOAD_TIMEOUT");
  env.hf_hub_etag_timeout = env_value("HF_HUB_ETAG_TIMEOUT");
  return env;
}

std::filesystem::path hf_home(const HubEnvironment& env) {
  if (env.hf_home) return expand_user(*env.hf_home, env);
  if (env.xdg_cache_home) return expand_user(*env.xdg_cache_home, env) / "huggingface";
  return expand_user("~/.cache/huggingface", env);
}

std::filesystem::path hub_cache_root(const HubEnvironment& env) {
  if (env.hf_hub_cache) return expand_user(*env.hf_hub_cache, env);
  if (env.huggingface_hub_cache) return expand_user(*env.huggingface_hub_cache, env);
  return hf_home(env) / "hub";
}

std::string hub_endpoint(const HubEnvironment& env) {
  std::string endpoint = env.hf_endpoint.value_or("https://huggingface.co");
  while (endpoint.ends_with('/')) endpoint.pop_back();
  return endpoint;
}

bool hub_offline(const HubEnvironment& env) {
  return truthy(env.hf_hub_offline) || truthy(env.transformers_offline);
}

void apply_hub_timeouts(const HubEnvironment& env, TransferOptions& transfer) {
  auto apply = [](const std::optional<std::string>& value, std::chrono::milliseconds& out) {
    if (!value) return;
    double seconds = 0;
    const char* end = value->data() + value->size();
    auto [p, ec] = std::from_chars(value->data(), end, seconds);
    if (ec != std::errc() || p != end || !(seconds > 0) || seconds > 86'400) return;
    out = std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000));
  };
  apply(env.hf_hub_download_timeout, transfer.stall_timeout);
  apply(env.hf_hub_etag_timeout, transfer.metadata_timeout);
}

}  // namespace hubload
