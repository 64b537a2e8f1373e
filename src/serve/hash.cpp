#include "serve/hash.h"

#include <sys/stat.h>

#include "hubload/file.h"
#include "util/digest.h"

namespace hubload::serve {
namespace {

Result<std::string> hash_file(const std::filesystem::path& path, bool git_blob) {
  HUBLOAD_ASSIGN_OR_RETURN(ReadFile file, ReadFile::open(path.string()));
  HUBLOAD_ASSIGN_OR_RETURN(util::Digest digest, git_blob ? util::Digest::start_git_blob(file.size())
                                                          : util::Digest::start(util::DigestAlgo::sha256));
  HUBLOAD_TRY(digest.update_from(file));
  return digest.finish_hex();
}

}  // namespace

std::string sha1_hex(std::string_view bytes) { return util::sha1_hex(util::bytes_of(bytes)); }

std::string sha256_hex(std::string_view bytes) { return util::sha256_hex(util::bytes_of(bytes)); }

std::string git_blob_sha1(std::string_view content) { return util::git_blob_sha1_hex(util::bytes_of(content)); }

std::string lfs_pointer(std::string_view sha256, std::uint64_t size) {
  return "version https://git-lfs.github.com/spec/v1\noid sha256:" + std::string(sha256) + "\nsize " +
         std::to_string(size) + "\n";
}

Result<std::string> file_git_blob_sha1(const std::filesystem::path& path) { return hash_file(path, true); }

Result<std::string> file_sha256(const std::filesystem::path& path) { return hash_file(path, false); }

Result<std::string> HashCache::get(const std::filesystem::path& path, Algo algo) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return errno_error(path.string(), errno);
  const std::uint64_t size = static_cast<std::uint64_t>(st.st_size);
  const std::int64_t mtime = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  Key key{path.string(), algo};
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(key);
    if (it != entries_.end() && it->second.size == size && it->second.mtime_ns == mtime) return it->second.hex;
  }
  // Hash outside the lock: two threads may hash the same file once each, which
  // is cheaper than serialising every hash behind one mutex.
  HUBLOAD_ASSIGN_OR_RETURN(std::string hex,
                           algo == Algo::sha256 ? file_sha256(path) : file_git_blob_sha1(path));
  std::lock_guard lock(mu_);
  entries_[key] = Entry{size, mtime, hex};
  return hex;
}

bool is_hex(std::string_view s, std::size_t length) { return s.size() == length && util::is_lower_hex(s); }

}  // namespace hubload::serve
