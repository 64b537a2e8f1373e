// The transfer engine behind download_files(): one TransferSession of the
// Transport seam, one event loop on the calling thread, a per-file state
// machine (lock -> partial -> ranges in flight -> verify -> publish) and a
// connection scheduler sharing one budget across files. engine_state.h says
// which file holds which concern.
#pragma once

#include <span>

#include "hubload/transfer.h"

namespace hubload::transfer_internal {

Result<TransferStats> run_transfers(std::span<const TransferFile> files, const TransferOptions& options);

}  // namespace hubload::transfer_internal
