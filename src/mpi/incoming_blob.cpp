#include "mpi/incoming_blob.h"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "hubload/file.h"

namespace hubload::mpi_internal {
namespace fs = std::filesystem;

IncomingBlob::IncomingBlob(const ExchangeSetup& s, std::size_t index, Failures& failures)
    : s_(s), index_(index), slots_(s.window) {
  chunks_ = (blob().size + s_.chunk_size - 1) / s_.chunk_size;
  open(failures);
  from_ = partial_ ? partial_->kept() / s_.chunk_size : chunks_;
  MPI_Isend(&from_, 1, MPI_UINT64_T, transfer().source, tag(), s_.topology->leaders.get(), &from_request_);
  MPI_Irecv(&header_, sizeof header_, MPI_BYTE, transfer().source, tag(), s_.topology->leaders.get(),
            &header_request_);
}

std::uint64_t IncomingBlob::chunk_bytes(std::uint64_t index) const {
  return std::min(s_.chunk_size, blob().size - index * s_.chunk_size);
}

void IncomingBlob::post_more() {
  while (posted_ < chunks_ && posted_ - written_ < slots_.size()) {
    Slot& slot = slots_[posted_ % slots_.size()];
    slot.bytes.resize(chunk_bytes(posted_));
    MPI_Irecv(slot.bytes.data(), static_cast<int>(slot.bytes.size()), MPI_BYTE, transfer().source, tag(),
              s_.topology->leaders.get(), &slot.request);
    ++posted_;
  }
  if (posted_ == chunks_ && !trailer_posted_) {
    MPI_Irecv(&trailer_, sizeof trailer_, MPI_BYTE, transfer().source, tag(), s_.topology->leaders.get(),
              &trailer_request_);
    trailer_posted_ = true;
  }
}

bool IncomingBlob::step(ExchangeOutcome& out, Failures& failures) {
  if (from_request_ != MPI_REQUEST_NULL) {
    int sent = 0;
    MPI_Test(&from_request_, &sent, MPI_STATUS_IGNORE);
  }
  if (finished_) return false;
  if (!header_seen_) {
    int arrived = 0;
    MPI_Test(&header_request_, &arrived, MPI_STATUS_IGNORE);
    if (!arrived) return false;
    header_seen_ = true;
    if (!header_.ok) {
      failures.told(header_error(header_));
      close(header_);
      return true;
    }
    if (partial_) out.fabric_resumed += partial_->kept();
    posted_ = written_ = from_;
    post_more();
  }
  bool moved = false;
  while (written_ < chunks_) {
    Slot& slot = slots_[written_ % slots_.size()];
    int arrived = 0;
    MPI_Status status;
    MPI_Test(&slot.request, &arrived, &status);
    if (!arrived) break;
    int count = 0;
    MPI_Get_count(&status, MPI_BYTE, &count);
    if (static_cast<std::uint64_t>(count) != slot.bytes.size()) short_chunk_ = true;
    if (!short_chunk_ && partial_ && digest_) {
      Status wrote = partial_->append(slot.bytes);
      if (!wrote) discard(failures, wrote.error());
      else digest_->update(slot.bytes);
    }
    out.fabric_received += static_cast<std::uint64_t>(count);
    ++written_;
    post_more();
    moved = true;
  }
  if (written_ < chunks_) return moved;
  int arrived = 0;
  MPI_Test(&trailer_request_, &arrived, MPI_STATUS_IGNORE);
  if (!arrived) return moved;
  if (!trailer_.ok) {
    failures.told(header_error(trailer_));
    close(trailer_);
  } else if (trailer_.again) {
    begin_again(failures);
  } else {
    if (short_chunk_) {
      discard(failures, internal_error(fmt::format("{} (blob {}) from node {}: a chunk came short of a whole round",
                                                   blob().paths.front(), blob().etag, transfer().source)));
    }
    finish(out, failures);
  }
  return true;
}

void IncomingBlob::close(const Header& error) {
  // What an earlier round of this run wrote is kept for a rerun, unless the
  // sender found the Hub's bytes corrupt.
  if (partial_ && static_cast<ErrorKind>(error.kind) == ErrorKind::integrity) partial_->discard();
  partial_.reset();
  lock_.reset();
  finished_ = true;
}

// The blob lock for the whole write (as a single-node download holds it);
// a blob that appeared meanwhile (another process) is drained and kept.
void IncomingBlob::open(Failures& failures) {
  const RepoCache& cache = *s_.cache;
  Result<BlobLock> lock = BlobLock::acquire(cache.lock_path(blob().etag));
  if (!lock) return discard(failures, lock.error());
  lock_ = std::move(*lock);
  std::error_code ec;
  if (fs::exists(cache.blob_path(blob().etag), ec)) return;
  if (Status started = start_digest(); !started) return discard(failures, started.error());
  Result<ReceivedPartial> partial = ReceivedPartial::open(cache, blob(), s_.chunk_size, *digest_);
  if (!partial) return discard(failures, partial.error());
  partial_.emplace(std::move(*partial));
}

Status IncomingBlob::start_digest() {
  HUBLOAD_ASSIGN_OR_RETURN(util_internal::Digest digest,
                           blob().etag.size() == 64 ? util_internal::Digest::start(util_internal::DigestAlgo::sha256)
                                                    : util_internal::Digest::start_git_blob(blob().size));
  digest_.emplace(std::move(digest));
  return ok();
}

void IncomingBlob::begin_again(Failures& failures) {
  if (partial_ && digest_) {
    Status rewound = start_digest();
    if (rewound) rewound = partial_->rewind(*digest_);
    if (!rewound) discard(failures, rewound.error());
  }
  written_ = posted_ = from_;
  short_chunk_ = false;
  trailer_posted_ = false;
  post_more();
}

void IncomingBlob::discard(Failures& failures, const Error& error) {
  failures.own(error);
  if (partial_) partial_->discard();
  partial_.reset();
  digest_.reset();
}

void IncomingBlob::finish(ExchangeOutcome& out, Failures& failures) {
  if (partial_ && digest_) {
    const std::string got = digest_->finish_hex();
    if (got != blob().etag) {
      discard(failures, Error(ErrorKind::integrity,
                              fmt::format("{} (blob {}) from node {}: the bytes hash to {}", blob().paths.front(),
                                          blob().etag, transfer().source, got)));
    } else {
      Status published = partial_->publish(s_.cache->blob_path(blob().etag));
      if (!published) discard(failures, published.error());
      else ++out.blobs_received;
    }
  }
  partial_.reset();
  lock_.reset();
  finished_ = true;
}

}  // namespace hubload::mpi_internal
