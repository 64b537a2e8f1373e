// The JSON half of header parsing: a SAX pass (nlohmann) that builds raw tensor
// entries while enforcing the shape of safetensors.md §2. nlohmann's DOM keeps the
// last of duplicate keys silently, so the strict duplicate-key rule needs SAX.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "hubload/error.h"
#include "hubload/safetensors.h"

namespace hubload::safetensors_internal {

struct RawTensor {
  std::string name;
  DType dtype = DType::F32;
  std::vector<std::uint64_t> shape;
  std::uint64_t begin = 0;
  std::uint64_t end = 0;
};

struct RawHeader {
  std::vector<RawTensor> tensors;  // in JSON order
  std::map<std::string, std::string> metadata;
};

// `text` must already be valid UTF-8. Errors are invalid_input, prefixed with `source`.
Result<RawHeader> parse_header_json(std::string_view text, const ReaderOptions& options,
                                    std::string_view source);

}  // namespace hubload::safetensors_internal
