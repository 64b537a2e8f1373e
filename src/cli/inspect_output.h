// Printing of a checkpoint's tensor list for `hubload inspect`, shared by the
// local path and by callers that build a Checkpoint from remote headers.
#pragma once

#include "hubload/safetensors.h"

namespace hubload::cli {

// The table (name, dtype, shape, bytes, shard) and totals, or with json one
// document: {"root", "index", "shards": [{file, tensors, data_bytes, header_bytes}],
// "tensors": [{name, dtype, shape, bytes, offset, shard}], "totals": {...}, "warnings"}.
void print_checkpoint(const Checkpoint& checkpoint, bool json);

}  // namespace hubload::cli
