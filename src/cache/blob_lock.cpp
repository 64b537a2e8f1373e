#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <cerrno>

#include <fmt/format.h>

#include "hubload/cache.h"

namespace hubload {

Result<std::optional<BlobLock>> BlobLock::lock(const std::filesystem::path& lock_file, bool wait) {
  std::error_code ec;
  std::filesystem::create_directories(lock_file.parent_path(), ec);
  if (ec) {
    return io_error(fmt::format("cannot create lock directory {}: {}", lock_file.parent_path().string(),
                                ec.message()));
  }
  UniqueFd fd(::open(lock_file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0664));
  if (!fd.valid()) return errno_error(lock_file.string(), errno);
  // 1.x creates lock files 0664 so group members can wait on them; open() applied the umask.
  ::fchmod(fd.get(), 0664);
  while (::flock(fd.get(), wait ? LOCK_EX : LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    if (errno == EWOULDBLOCK) return std::optional<BlobLock>();
    // No flock on this file system: carry on unlocked. Unique temp files and an
    // atomic rename keep the result correct; only de-duplication is lost.
    if (errno == ENOLCK || errno == EOPNOTSUPP || errno == EINVAL || errno == ENOSYS) {
      return std::optional<BlobLock>(BlobLock(std::move(fd), false));
    }
    return errno_error(lock_file.string(), errno);
  }
  return std::optional<BlobLock>(BlobLock(std::move(fd), true));
}

Result<BlobLock> BlobLock::acquire(const std::filesystem::path& lock_file) {
  HUBLOAD_ASSIGN_OR_RETURN(std::optional<BlobLock> held, lock(lock_file, true));
  if (!held) return internal_error("flock of " + lock_file.string() + " returned without the lock");
  return std::move(*held);
}

Result<std::optional<BlobLock>> BlobLock::try_acquire(const std::filesystem::path& lock_file) {
  return lock(lock_file, false);
}

}  // namespace hubload
