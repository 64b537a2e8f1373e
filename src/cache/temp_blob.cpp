#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "cache/random_suffix.h"
#include "hubload/cache.h"

namespace hubload {

Result<TempBlob> TempBlob::create(const std::filesystem::path& blobs_dir, std::string_view etag) {
  for (int attempt = 0; attempt < 16; ++attempt) {
    std::filesystem::path path =
        blobs_dir / (std::string(etag) + "." + cache_internal::random_hex8() + ".incomplete");
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0666));
    if (fd.valid()) return TempBlob(std::move(path), std::move(fd));
    if (errno != EEXIST) return errno_error(path.string(), errno);
  }
  return io_error("cannot create a unique temp file in " + blobs_dir.string());
}

TempBlob::TempBlob(TempBlob&& other) noexcept
    : path_(std::move(other.path_)), fd_(std::move(other.fd_)), published_(other.published_) {
  other.published_ = true;  // the moved-from object must not delete the file
}

TempBlob::~TempBlob() {
  if (!published_) ::unlink(path_.c_str());
}

Status TempBlob::publish(const std::filesystem::path& final_path) {
  HUBLOAD_TRY(sync_close_rename(fd_, path_, final_path));
  published_ = true;
  return ok();
}

}  // namespace hubload
