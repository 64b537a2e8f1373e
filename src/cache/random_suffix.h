// Process-unique name parts for temp files (".<8 hex>"), as huggingface_hub 1.x uses.
#pragma once

#include <random>
#include <string>

#include <fmt/format.h>

namespace hubload::cache_internal {

inline std::string random_hex8() {
  thread_local std::mt19937 gen{std::random_device{}()};
  return fmt::format("{:08x}", static_cast<unsigned>(gen()));
}

}  // namespace hubload::cache_internal
