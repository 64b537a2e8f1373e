// Private: data files compiled into the library (cmake/HubloadEmbed.cmake).
#pragma once

#include <span>
#include <string_view>

namespace hubload::plan_internal {

struct EmbeddedFile {
  std::string_view path;  // relative to the source tree, for messages
  std::string_view text;
};

// src/plan/families/*.json, in file-name order.
std::span<const EmbeddedFile> builtin_family_files();

}  // namespace hubload::plan_internal
