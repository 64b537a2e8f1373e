// One transfer this node sends (exchange_wire.h says what goes over the wire):
// from its cache, or from the Hub download the fetch thread is running, chunk
// by chunk as the written prefix grows; to each receiver from the chunk it
// asks for on (what a partial of an earlier run lacks). Private to src/mpi;
// the MPI thread's.
#pragma once

#include <mpi.h>

#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "hubload/file.h"
#include "mpi/blob_exchange.h"
#include "mpi/exchange_wire.h"
#include "mpi/growing_blob.h"

namespace hubload::mpi_internal {

class OutgoingBlob {
 public:
  // `growing`: this node fetches the blob from the Hub; null: its cache holds it.
  OutgoingBlob(const ExchangeSetup& s, std::size_t index, std::shared_ptr<GrowingBlob> growing);

  std::size_t index() const { return index_; }
  bool started() const { return started_; }
  bool done() const { return finished_; }
  // The Hub download has begun writing and its outcome is not known yet: it
  // can be sent while it runs.
  bool streamable() const;
  // The fetch thread's outcome for this blob (an error located where it happened).
  void fetched(std::optional<Error> failure) { result_ = std::move(failure); }
  // Sends the header: the blob follows, or the error that stops it.
  void start(Failures& failures);
  // One round of progress; true if something moved.
  bool step(ExchangeOutcome& out, Failures& failures);

 private:
  struct Slot {
    std::vector<std::byte> bytes;
    std::vector<MPI_Request> requests;
  };
  enum class End { ok, again, error };

  const BlobTransfer& transfer() const { return (*s_.plan)[index_]; }
  const Blob& blob() const { return (*s_.blobs)[transfer().blob]; }
  int tag() const { return static_cast<int>(index_) + 1; }
  // To every receiver that needs chunk `chunk` (all of them for a header or trailer).
  void send(const void* data, std::uint64_t n, std::vector<MPI_Request>& requests,
            std::optional<std::uint64_t> chunk = std::nullopt);
  // Whether every receiver said from which chunk on it needs the blob.
  bool know_from();
  std::uint64_t first_chunk() const;  // the first any receiver needs
  // Where the blob stands now: its download's partial, generation and prefix
  // (the whole size once it is in the cache).
  GrowingBlob::View source() const;
  Result<ReadFile> open_source() const;
  // The bytes of a chunk, or false if they cannot be read yet (an error once
  // the blob is whole in the cache).
  Result<bool> read_chunk(std::uint64_t offset, std::span<std::byte> out);
  bool send_chunks(ExchangeOutcome& out, Failures& failures, std::uint64_t available);
  // The rest of the round's chunks empty, then its trailer.
  void end_round(End end, const Error* error);

  const ExchangeSetup& s_;
  std::size_t index_;
  std::shared_ptr<GrowingBlob> growing_;
  // Known: the blob is whole in the cache, or fetching it failed.
  std::optional<std::optional<Error>> result_;
  bool started_ = false, finished_ = false, ended_ = false;
  Header header_;
  std::deque<Header> trailers_;  // stable addresses while their sends run
  std::vector<MPI_Request> control_;
  GrowingBlob::View round_;  // the download (generation) the current round reads
  // Opened again when a read goes past its size at opening: the partial while
  // it grows, the blob once it is published (or held from the start).
  std::optional<ReadFile> file_;
  std::uint64_t chunks_ = 0, next_ = 0;
  std::vector<std::uint64_t> from_;  // per receiver: the first chunk it needs
  std::vector<MPI_Request> from_requests_;
  bool from_known_ = false;
  std::vector<Slot> slots_;
};

}  // namespace hubload::mpi_internal
