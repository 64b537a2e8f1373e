#include "serve/hash.h"

#include <openssl/evp.h>
#include <sys/stat.h>

#include <array>
#include <memory>
#include <vector>

#include "hubload/file.h"

namespace hubload::serve {
namespace {

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

std::string to_hex(const unsigned char* data, unsigned int n) {
  static const char digits[] = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (unsigned int i = 0; i < n; ++i) {
    out[2 * i] = digits[data[i] >> 4];
    out[2 * i + 1] = digits[data[i] & 15];
  }
  return out;
}

class Hasher {
 public:
  explicit Hasher(const EVP_MD* md) : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_.get(), md, nullptr); }
  void update(std::string_view bytes) { EVP_DigestUpdate(ctx_.get(), bytes.data(), bytes.size()); }
  std::string hex() {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_DigestFinal_ex(ctx_.get(), out, &n);
    return to_hex(out, n);
  }

 private:
  MdCtx ctx_;
};

Result<std::string> hash_file(const std::filesystem::path& path, const EVP_MD* md, bool git_header) {
  HUBLOAD_ASSIGN_OR_RETURN(ReadFile file, ReadFile::open(path.string()));
  Hasher h(md);
  if (git_header) {
    std::string header = "blob " + std::to_string(file.size());
    h.update(std::string_view(header.data(), header.size() + 1));  // includes the NUL
  }
  std::vector<std::byte> buf(1 << 20);
  for (std::uint64_t off = 0; off < file.size();) {
    std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), file.size() - off));
    HUBLOAD_TRY(file.read_at(off, std::span<std::byte>(buf.data(), n)));
    h.update(std::string_view(reinterpret_cast<const char*>(buf.data()), n));
    off += n;
  }
  return h.hex();
}

}  // namespace

std::string sha1_hex(std::string_view bytes) {
  Hasher h(EVP_sha1());
  h.update(bytes);
  return h.hex();
}

std::string sha256_hex(std::string_view bytes) {
  Hasher h(EVP_sha256());
  h.update(bytes);
  return h.hex();
}

std::string git_blob_sha1(std::string_view content) {
  std::string header = "blob " + std::to_string(content.size());
  Hasher h(EVP_sha1());
  h.update(std::string_view(header.data(), header.size() + 1));
  h.update(content);
  return h.hex();
}

std::string lfs_pointer(std::string_view sha256, std::uint64_t size) {
  return "version https://git-lfs.github.com/spec/v1\noid sha256:" + std::string(sha256) + "\nsize " +
         std::to_string(size) + "\n";
}

Result<std::string> file_git_blob_sha1(const std::filesystem::path& path) {
  return hash_file(path, EVP_sha1(), true);
}

Result<std::string> file_sha256(const std::filesystem::path& path) {
  return hash_file(path, EVP_sha256(), false);
}

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

bool is_hex(std::string_view s, std::size_t length) {
  if (s.size() != length) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace hubload::serve
