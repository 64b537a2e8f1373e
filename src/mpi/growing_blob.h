// A blob this node's fetch thread is downloading from the Hub, as far as it
// has got (TransferOptions::on_prefix): reported on the fetch thread, read on
// the MPI thread, which sends the bytes already written while later ones still
// arrive. Private to src/mpi.
#pragma once

#include <cstdint>
#include <filesystem>
#include <mutex>

#include "hubload/transfer.h"

namespace hubload::mpi_internal {

class GrowingBlob {
 public:
  struct View {
    std::filesystem::path partial;  // renamed onto the blob once published
    std::uint64_t generation = 0;   // 0: the download has not begun writing
    std::uint64_t prefix = 0;       // bytes [0, prefix) are written
  };

  // On the fetch thread, from the engine's callback.
  void report(const TransferPrefix& p) {
    std::lock_guard lock(mu_);
    if (p.generation != view_.generation) {
      view_.partial = p.partial;
      view_.generation = p.generation;
    }
    view_.prefix = p.prefix;
  }

  View view() const {
    std::lock_guard lock(mu_);
    return view_;
  }

 private:
  mutable std::mutex mu_;
  View view_;  // guarded by mu_
};

}  // namespace hubload::mpi_internal
