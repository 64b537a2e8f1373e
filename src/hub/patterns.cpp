// allow_patterns / ignore_patterns exactly as huggingface_hub 1.x applies them
// (hub-protocol.md §11): fnmatch over the whole path, '*' and '?' cross '/',
// no escape character, "dir/" means "dir/*", '\' is '/'.
#include <fnmatch.h>

#include "hubload/hub.h"

namespace hubload {
namespace {

std::string with_forward_slashes(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c == '\\') c = '/';
  }
  return out;
}

}  // namespace

bool hub_pattern_match(std::string_view pattern, std::string_view path) {
  std::string p = with_forward_slashes(pattern);
  if (p.ends_with('/')) p += '*';
  const std::string s = with_forward_slashes(path);
  return ::fnmatch(p.c_str(), s.c_str(), FNM_NOESCAPE) == 0;
}

bool hub_path_selected(std::string_view path, const std::vector<std::string>& allow,
                       const std::vector<std::string>& ignore) {
  if (!allow.empty()) {
    bool allowed = false;
    for (const auto& pattern : allow) allowed = allowed || hub_pattern_match(pattern, path);
    if (!allowed) return false;
  }
  for (const auto& pattern : ignore) {
    if (hub_pattern_match(pattern, path)) return false;
  }
  return true;
}

}  // namespace hubload
