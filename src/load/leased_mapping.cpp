#include "load/leased_mapping.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>

#include <cstring>
#include <fstream>

namespace hubload::load_internal {
namespace {

// The seconds a lease holder is given before the kernel revokes it; 0 where unknown.
int lease_break_seconds() {
  std::ifstream in("/proc/sys/fs/lease-break-time");
  int seconds = 0;
  in >> seconds;
  return in ? seconds : 0;
}

}  // namespace

Result<LeasedMapping> LeasedMapping::open(const std::filesystem::path& path, int same_as) {
  // The copy between two held() checks takes microseconds; a kernel that revokes
  // leases in under a second leaves too little margin to rely on.
  if (lease_break_seconds() < 1) return unsupported("fs.lease-break-time is under a second: no mapped reads");
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return errno_error("open " + path.string(), errno);
  // A lease break signals the holder, SIGIO by default, whose default action ends
  // the process. SIGURG is ignored by default; the owner is cleared right after
  // the lease is taken, so that not even SIGURG is sent from then on.
  if (::fcntl(fd.get(), F_SETSIG, SIGURG) != 0) return errno_error(path.string() + ": F_SETSIG", errno);
  if (::fcntl(fd.get(), F_SETLEASE, F_RDLCK) != 0)
    return unsupported(path.string() + ": no read lease (" + std::string(std::strerror(errno)) + ")");
  if (::fcntl(fd.get(), F_SETOWN, 0) != 0) return errno_error(path.string() + ": F_SETOWN", errno);
  // Sized and mapped through the leased descriptor, after the lease: what the lease protects.
  struct stat leased {}, other {};
  if (::fstat(fd.get(), &leased) != 0) return errno_error("stat " + path.string(), errno);
  if (::fstat(same_as, &other) != 0) return errno_error("stat " + path.string(), errno);
  if (leased.st_dev != other.st_dev || leased.st_ino != other.st_ino)
    return unsupported(path.string() + ": replaced since it was opened; read instead");
  HUBLOAD_ASSIGN_OR_RETURN(MappedFile map, MappedFile::map(path, fd.get(), static_cast<std::uint64_t>(leased.st_size)));
  return LeasedMapping(std::move(fd), std::move(map));
}

// Unmaps, then gives the lease up explicitly: closing the descriptor would not
// while a forked child still holds a copy of it. (A moved-from one holds neither.)
LeasedMapping::~LeasedMapping() {
  map_.reset();
  if (fd_.valid()) ::fcntl(fd_.get(), F_SETLEASE, F_UNLCK);
}

bool LeasedMapping::held() const { return ::fcntl(fd_.get(), F_GETLEASE) == F_RDLCK; }

}  // namespace hubload::load_internal
