// Serialises a header the way the reference writer does (safetensors.md §6):
// compact JSON, __metadata__ first, tensors in the order given with contiguous
// offsets, padded with spaces so that 8 + N is a multiple of 8.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "hubload/safetensors.h"

namespace hubload::safetensors_internal {

struct SerializedHeader {
  std::string bytes;                        // LE64(N) followed by the N header bytes
  std::vector<std::uint64_t> tensor_sizes;  // parallel to the specs
  std::uint64_t data_bytes = 0;
};

// invalid_input naming `path` and the tensor for a duplicate or reserved name,
// invalid UTF-8, an overflowing or sub-byte-misaligned size, or a header above 100 MB.
Result<SerializedHeader> serialize_header(const std::vector<TensorSpec>& tensors,
                                          const std::map<std::string, std::string>& metadata,
                                          std::string_view path);

}  // namespace hubload::safetensors_internal
