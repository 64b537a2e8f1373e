// A per-file advisory lock (flock) that only de-duplicates work between
// processes: where flock is unsupported, the lock reports itself as held and
// correctness still comes from unique partial files and atomic renames.
#pragma once

#include <optional>
#include <string>

#include "hubload/error.h"
#include "hubload/file.h"

namespace hubload::transfer {

class BlobLock {
 public:
  // Tries once, without blocking. nullopt: another process holds it. The lock
  // file (and its parent folders) are created with mode 0664 minus the umask
  // so group members can wait on it; it is never deleted (hub-protocol.md §10.7).
  static Result<std::optional<BlobLock>> try_acquire(const std::string& path);

  bool enforced() const { return enforced_; }  // false: flock does nothing here

 private:
  BlobLock(UniqueFd fd, bool enforced) : fd_(std::move(fd)), enforced_(enforced) {}
  UniqueFd fd_;  // closing it releases the lock
  bool enforced_ = true;
};

}  // namespace hubload::transfer
