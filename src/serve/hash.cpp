#include "serve/hash.h"

#include <sys/stat.h>

#include <ctime>

namespace hubload::serve_internal {

std::string lfs_pointer(std::string_view sha256, std::uint64_t size) {
  return "version https://git-lfs.github.com/spec/v1\noid sha256:" + std::string(sha256) + "\nsize " +
         std::to_string(size) + "\n";
}

bool too_recent(std::int64_t mtime_ns, std::int64_t now_ns) {
  // Longer than any local file system's granularity: ext4 and tmpfs stamp with
  // the kernel's coarse clock, FAT rounds to 2 s.
  constexpr std::int64_t kGranularityNs = 2'000'000'000;
  return mtime_ns >= now_ns - kGranularityNs;
}

std::int64_t realtime_now_ns() {
  struct timespec ts {};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

Result<std::string> HashCache::get(const std::filesystem::path& path, util_internal::BlobDigest kind) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return errno_error(path.string(), errno);
  const std::uint64_t size = static_cast<std::uint64_t>(st.st_size);
  const std::int64_t mtime = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  Key key{path.string(), kind};
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(key);
    if (it != entries_.end() && it->second.size == size && it->second.mtime_ns == mtime) return it->second.hex;
  }
  // Hash outside the lock: two threads may hash the same file once each, which
  // is cheaper than serialising every hash behind one mutex.
  const std::int64_t started = realtime_now_ns();
  HUBLOAD_ASSIGN_OR_RETURN(std::string hex, util_internal::file_digest_hex(path, kind));
  // A file rewritten within its mtime's granularity would keep this key with other bytes.
  if (too_recent(mtime, started)) return hex;
  std::lock_guard lock(mu_);
  entries_[key] = Entry{size, mtime, hex};
  return hex;
}

}  // namespace hubload::serve_internal
