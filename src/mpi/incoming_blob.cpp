#include "mpi/incoming_blob.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "hubload/file.h"

namespace hubload::mpi_internal {
namespace fs = std::filesystem;

IncomingBlob::IncomingBlob(const ExchangeSetup& s, std::size_t index) : s_(s), index_(index), slots_(s.window) {
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
  if (finished_) return false;
  if (!header_seen_) {
    int arrived = 0;
    MPI_Test(&header_request_, &arrived, MPI_STATUS_IGNORE);
    if (!arrived) return false;
    header_seen_ = true;
    if (!header_.ok) {
      failures.told(header_error(header_));
      finished_ = true;
      return true;
    }
    open(failures);
    chunks_ = (blob().size + s_.chunk_size - 1) / s_.chunk_size;
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
    if (!short_chunk_ && temp_ && digest_) {
      Status wrote = write_all(temp_->fd(), slot.bytes, temp_->path());
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
    temp_.reset();  // deletes the partial
    lock_.reset();
    finished_ = true;
  } else if (trailer_.again) {
    begin_again(failures);
  } else {
    if (short_chunk_) {
      discard(failures, internal_error(fmt::format("{} (blob {}) from node {}: a chunk came short of a whole round",
                                                   blob().paths.front(), blob().etag, transfer().source)));
    }
    finish(out, failures);
    finished_ = true;
  }
  return true;
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
  Result<TempBlob> temp = TempBlob::create(cache.blobs_dir(), blob().etag);
  if (!temp) return discard(failures, temp.error());
  temp_.emplace(std::move(*temp));
  if (Status started = start_digest(); !started) discard(failures, started.error());
}

Status IncomingBlob::start_digest() {
  HUBLOAD_ASSIGN_OR_RETURN(util_internal::Digest digest,
                           blob().etag.size() == 64 ? util_internal::Digest::start(util_internal::DigestAlgo::sha256)
                                                    : util_internal::Digest::start_git_blob(blob().size));
  digest_.emplace(std::move(digest));
  return ok();
}

void IncomingBlob::begin_again(Failures& failures) {
  if (temp_ && digest_) {
    if (::ftruncate(temp_->fd(), 0) != 0 || ::lseek(temp_->fd(), 0, SEEK_SET) != 0) {
      discard(failures, errno_error(temp_->path().string(), errno));
    } else if (Status started = start_digest(); !started) {
      discard(failures, started.error());
    }
  }
  written_ = posted_ = 0;
  short_chunk_ = false;
  trailer_posted_ = false;
  post_more();
}

void IncomingBlob::discard(Failures& failures, const Error& error) {
  failures.own(error);
  temp_.reset();  // deletes the partial
  digest_.reset();
}

void IncomingBlob::finish(ExchangeOutcome& out, Failures& failures) {
  if (temp_ && digest_) {
    const std::string got = digest_->finish_hex();
    if (got != blob().etag) {
      discard(failures, Error(ErrorKind::integrity,
                              fmt::format("{} (blob {}) from node {}: the bytes hash to {}", blob().paths.front(),
                                          blob().etag, transfer().source, got)));
    } else {
      Status published = temp_->publish(s_.cache->blob_path(blob().etag));
      if (!published) discard(failures, published.error());
      else ++out.blobs_received;
    }
  }
  temp_.reset();
  lock_.reset();
}

}  // namespace hubload::mpi_internal
