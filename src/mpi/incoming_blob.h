// One transfer this node receives (exchange_wire.h says what comes over the
// wire): first it tells the sender from which chunk on it needs the blob (the
// whole chunks a partial of an earlier run holds are kept), then the chunks
// come in order (MPI keeps the messages of one sender and tag in order),
// written to the partial and hashed as they arrive; published only when the
// sender's trailer says the round was the whole blob and the size and hash
// match. Private to src/mpi; the MPI thread's.
#pragma once

#include <mpi.h>

#include <optional>
#include <vector>

#include "hubload/cache.h"
#include "mpi/blob_exchange.h"
#include "mpi/exchange_wire.h"
#include "mpi/received_partial.h"
#include "util/digest.h"

namespace hubload::mpi_internal {

class IncomingBlob {
 public:
  IncomingBlob(const ExchangeSetup& s, std::size_t index, Failures& failures);

  bool done() const { return finished_ && from_request_ == MPI_REQUEST_NULL; }
  // One round of progress; true if something moved.
  bool step(ExchangeOutcome& out, Failures& failures);

 private:
  struct Slot {
    std::vector<std::byte> bytes;
    MPI_Request request = MPI_REQUEST_NULL;
  };

  const BlobTransfer& transfer() const { return (*s_.plan)[index_]; }
  const Blob& blob() const { return (*s_.blobs)[transfer().blob]; }
  int tag() const { return static_cast<int>(index_) + 1; }
  std::uint64_t chunk_bytes(std::uint64_t index) const;
  // Receives for the next chunks the window allows, then for the round's trailer.
  void post_more();
  // Under the blob's lock: the partial (adopted or new), or nothing to write
  // (the blob is here already, or an error).
  void open(Failures& failures);
  Status start_digest();
  // The sender's download began again: so does the partial.
  void begin_again(Failures& failures);
  void discard(Failures& failures, const Error& error);
  // The sender's error ends the transfer.
  void close(const Header& error);
  void finish(ExchangeOutcome& out, Failures& failures);

  const ExchangeSetup& s_;
  std::size_t index_;
  Header header_, trailer_;
  MPI_Request header_request_ = MPI_REQUEST_NULL, trailer_request_ = MPI_REQUEST_NULL;
  bool header_seen_ = false, finished_ = false, trailer_posted_ = false;
  bool short_chunk_ = false;  // this round was cut short: its bytes are void
  std::uint64_t chunks_ = 0, posted_ = 0, written_ = 0;
  std::uint64_t from_ = 0;  // the first chunk asked of the sender (the rest are here)
  MPI_Request from_request_ = MPI_REQUEST_NULL;
  std::vector<Slot> slots_;
  std::optional<BlobLock> lock_;
  std::optional<ReceivedPartial> partial_;
  std::optional<util_internal::Digest> digest_;
};

}  // namespace hubload::mpi_internal
