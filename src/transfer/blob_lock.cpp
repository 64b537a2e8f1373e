#include "transfer/blob_lock.h"

#include <fcntl.h>
#include <sys/file.h>

#include <filesystem>

namespace hubload::transfer {

Result<std::optional<BlobLock>> BlobLock::try_acquire(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0664));
  if (!fd.valid()) return errno_error(path, errno);
  while (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    if (errno == EWOULDBLOCK) return std::optional<BlobLock>();
    if (errno == ENOLCK || errno == EOPNOTSUPP || errno == EINVAL || errno == ENOSYS) {
      return std::optional<BlobLock>(BlobLock(std::move(fd), false));
    }
    return errno_error(path, errno);
  }
  return std::optional<BlobLock>(BlobLock(std::move(fd), true));
}

}  // namespace hubload::transfer
