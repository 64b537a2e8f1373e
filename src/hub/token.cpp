// Token discovery (hub-protocol.md §8.3, without Colab/OIDC): explicit option,
// HF_TOKEN, HUGGING_FACE_HUB_TOKEN, then the token file.
#include <fmt/format.h>

#include "hubload/file.h"
#include "hubload/hub.h"

namespace hubload {
namespace {

// Python removes \r and \n and strips whitespace; an empty string is no token.
std::optional<std::string> clean(std::string_view raw) {
  std::string token;
  for (char c : raw) {
    if (c != '\r' && c != '\n') token += c;
  }
  const auto first = token.find_first_not_of(" \t");
  if (first == std::string::npos) return std::nullopt;
  const auto last = token.find_last_not_of(" \t");
  return token.substr(first, last - first + 1);
}

}  // namespace

Result<std::optional<std::string>> discover_token(const HubOptions& options) {
  if (options.no_token) return std::optional<std::string>();
  const HubEnvironment& env = options.environment;
  for (const auto* candidate : {&options.token, &env.hf_token, &env.hugging_face_hub_token}) {
    if (*candidate) {
      if (auto token = clean(**candidate)) return token;
    }
  }
  const std::filesystem::path file =
      env.hf_token_path ? std::filesystem::path(*env.hf_token_path) : hf_home(env) / "token";
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) return std::optional<std::string>();
  Result<std::string> content = read_text_file(file.string());
  if (!content) return std::move(content).error().with_context("reading the token file");
  return clean(*content);
}

std::string mask_token(std::string_view token) {
  if (token.size() <= 8) return "***";
  return fmt::format("{}***{}", token.substr(0, 3), token.substr(token.size() - 2));
}

}  // namespace hubload
