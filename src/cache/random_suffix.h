// Process-unique name parts for temp files (".<8 hex>"), as huggingface_hub 1.x uses.
#pragma once

#include <filesystem>
#include <random>
#include <string>

#include <fmt/format.h>

namespace hubload::cache_internal {

inline std::string random_hex8() {
  thread_local std::mt19937 gen{std::random_device{}()};
  return fmt::format("{:08x}", static_cast<unsigned>(gen()));
}

// A temporary sibling of `path` for a write-then-rename: "<name>.<8 hex>.tmp",
// or ".<8 hex>.tmp" where that would pass the 255-byte limit of a file name
// (a repo file may have a name of 255 bytes itself).
inline std::filesystem::path temp_sibling(const std::filesystem::path& path) {
  constexpr std::size_t kNameMax = 255;
  const std::string suffix = "." + random_hex8() + ".tmp";
  const std::string name = path.filename().string();
  return path.parent_path() / (name.size() + suffix.size() <= kNameMax ? name + suffix : suffix);
}

}  // namespace hubload::cache_internal
