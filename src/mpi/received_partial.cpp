#include "mpi/received_partial.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

namespace hubload::mpi_internal {

namespace {

std::filesystem::path partial_path(const RepoCache& cache, const Blob& blob) {
  return cache.blobs_dir() / (blob.etag + ".fabric.incomplete");
}

}  // namespace

void remove_received_partial(const RepoCache& cache, const Blob& blob) {
  std::error_code ec;
  std::filesystem::remove(partial_path(cache, blob), ec);
}

Result<ReceivedPartial> ReceivedPartial::open(const RepoCache& cache, const Blob& blob, std::uint64_t chunk_size,
                                              util_internal::Digest& digest) {
  std::filesystem::path path = partial_path(cache, blob);
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666));
  if (!fd.valid()) return errno_error(path.string(), errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return errno_error(path.string(), errno);
  const auto on_disk = std::min(static_cast<std::uint64_t>(st.st_size), blob.size);
  ReceivedPartial partial(std::move(path), std::move(fd), on_disk / chunk_size * chunk_size);
  HUBLOAD_TRY(partial.keep_prefix(digest));
  return partial;
}

ReceivedPartial::~ReceivedPartial() {
  if (!gone_ && fd_.valid() && size_ == 0) ::unlink(path_.c_str());
}

Status ReceivedPartial::keep_prefix(util_internal::Digest& digest) {
  if (::ftruncate(fd_.get(), static_cast<off_t>(kept_)) != 0) return errno_error(path_.string(), errno);
  if (::lseek(fd_.get(), static_cast<off_t>(kept_), SEEK_SET) < 0) return errno_error(path_.string(), errno);
  size_ = kept_;
  if (kept_ == 0) return ok();
  HUBLOAD_ASSIGN_OR_RETURN(ReadFile kept, ReadFile::open(path_));
  return digest.update_from(kept);
}

Status ReceivedPartial::append(std::span<const std::byte> bytes) {
  HUBLOAD_TRY(write_all(fd_.get(), bytes, path_));
  size_ += bytes.size();
  return ok();
}

Status ReceivedPartial::rewind(util_internal::Digest& digest) { return keep_prefix(digest); }

Status ReceivedPartial::publish(const std::filesystem::path& blob_path) {
  HUBLOAD_TRY(sync_close_rename(fd_, path_, blob_path));
  gone_ = true;
  return ok();
}

void ReceivedPartial::discard() {
  if (gone_) return;
  ::unlink(path_.c_str());
  gone_ = true;
}

}  // namespace hubload::mpi_internal
