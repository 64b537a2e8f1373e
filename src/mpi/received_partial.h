// The partial blob a receiving node writes: blobs/<etag>.fabric.incomplete
// (Python's cache tools treat the suffix as an orphan). Unlike a TempBlob it
// outlives a job that stops short (a killed rank, an error elsewhere), so that
// the rerun resumes it: the whole chunks it holds are hashed again and only
// the rest is asked of the sender. Written only under the blob's lock (the
// name is fixed: one writer per node cache); its bytes are trusted only once
// the whole blob hashes to its name. Private to src/mpi.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>

#include "hubload/cache.h"
#include "hubload/file.h"
#include "mpi/blob_plan.h"
#include "util/digest.h"

namespace hubload::mpi_internal {

class ReceivedPartial {
 public:
  // Creates it, or adopts what an earlier run left: its whole chunks (of
  // `chunk_size` bytes, none past the blob's size), fed to `digest`.
  static Result<ReceivedPartial> open(const RepoCache& cache, const Blob& blob, std::uint64_t chunk_size,
                                      util_internal::Digest& digest);
  ReceivedPartial(ReceivedPartial&&) noexcept = default;
  ReceivedPartial& operator=(ReceivedPartial&&) = delete;
  ~ReceivedPartial();  // keeps the bytes (for a rerun), unless there are none

  const std::filesystem::path& path() const { return path_; }
  std::uint64_t kept() const { return kept_; }  // bytes adopted from an earlier run
  Status append(std::span<const std::byte> bytes);
  // Back to the adopted bytes (the sender's download began again), fed to a fresh `digest`.
  Status rewind(util_internal::Digest& digest);
  // fsyncs and renames it onto the blob.
  Status publish(const std::filesystem::path& blob_path);
  void discard();  // deletes it

 private:
  ReceivedPartial(std::filesystem::path path, UniqueFd fd, std::uint64_t kept)
      : path_(std::move(path)), fd_(std::move(fd)), kept_(kept), size_(kept) {}
  // Cuts the file to the kept bytes and feeds them to `digest`.
  Status keep_prefix(util_internal::Digest& digest);

  std::filesystem::path path_;
  UniqueFd fd_;
  std::uint64_t kept_ = 0;
  std::uint64_t size_ = 0;  // bytes in the file now
  bool gone_ = false;      // published or deleted
};

// Deletes a received partial of `blob` (under the blob's lock): once the blob
// is in the cache, it is of no use.
void remove_received_partial(const RepoCache& cache, const Blob& blob);

}  // namespace hubload::mpi_internal
