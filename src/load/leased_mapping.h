// Private: a read-only mapping of a file that the kernel keeps whole while it is
// held. A load copies a row-parallel slice's short rows (a W = 8 rank: ~33,000
// of 1-3.5 KiB) out of the page cache faster through a mapping than with a read
// each, but a file truncated under a mapping raises SIGBUS on the next touch,
// which a library cannot catch. A read lease (fcntl F_SETLEASE) closes that: a
// process that opens the file for writing or truncates it waits until the lease
// is released, or until the kernel's lease-break-time has passed, and `held()`
// turns false as soon as such a wait begins, so the caller stops touching the
// mapping long before the kernel could revoke the lease.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>

#include "hubload/error.h"
#include "hubload/file.h"

namespace hubload::load_internal {

class LeasedMapping {
 public:
  // Leases and maps the file `path` names, which must be the file `same_as` is open
  // on (a file renamed over it since is refused rather than mapped unleased).
  // unsupported where no lease can be taken: the file is open for writing
  // somewhere, the caller does not own it (and lacks CAP_LEASE), the file
  // system has no leases (NFS, FUSE), leases are off (fs.leases-enable), or the
  // kernel would revoke one in under a second (fs.lease-break-time).
  static Result<LeasedMapping> open(const std::filesystem::path& path, int same_as);
  LeasedMapping(LeasedMapping&&) noexcept = default;
  LeasedMapping& operator=(LeasedMapping&&) = delete;
  ~LeasedMapping();

  // The file as it was once the lease was taken.
  std::span<const std::byte> bytes() const { return map_->bytes(); }
  // false once a writer waits for the lease: the mapping must not be touched again.
  bool held() const;

 private:
  LeasedMapping(UniqueFd fd, MappedFile map) : fd_(std::move(fd)), map_(std::move(map)) {}
  UniqueFd fd_;                    // holds the lease; the mapping is of this descriptor
  std::optional<MappedFile> map_;  // unmapped before the lease is given up
};

}  // namespace hubload::load_internal
