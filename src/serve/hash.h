// What only a Hub server needs on top of util/digest: the Git LFS pointer a
// client sees for a large file, and a cache so a folder's files are hashed once
// per (size, mtime).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "hubload/error.h"
#include "util/digest.h"

namespace hubload::serve_internal {

// The Git LFS pointer text for a file with this sha256 and size.
std::string lfs_pointer(std::string_view sha256, std::uint64_t size);

// Whether a file or folder stamped `mtime_ns` may still change without its
// mtime telling (timestamps are coarse): true within 2 s before `now_ns`, or
// after it. What serve remembers by mtime (hashes, listings) is not kept then.
bool too_recent(std::int64_t mtime_ns, std::int64_t now_ns);
std::int64_t realtime_now_ns();

// Hashes of on-disk files, recomputed when size or mtime changes. Thread-safe.
class HashCache {
 public:
  Result<std::string> get(const std::filesystem::path& path, util_internal::BlobDigest kind);

 private:
  struct Key {
    std::string path;
    util_internal::BlobDigest kind;
    auto operator<=>(const Key&) const = default;
  };
  struct Entry {
    std::uint64_t size = 0;
    std::int64_t mtime_ns = 0;
    std::string hex;
  };
  std::mutex mu_;
  std::map<Key, Entry> entries_;  // guarded by mu_
};

}  // namespace hubload::serve_internal
