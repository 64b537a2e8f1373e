#include "transfer/content_hasher.h"

#include <openssl/evp.h>

#include <fcntl.h>
#include <unistd.h>

#include <vector>

#include "hubload/file.h"
#include "hubload/transfer.h"

namespace hubload::transfer {

struct ContentHasher::Ctx {
  EVP_MD_CTX* md = nullptr;
};

void ContentHasher::CtxDeleter::operator()(Ctx* c) const {
  if (c->md) EVP_MD_CTX_free(c->md);
  delete c;
}

bool ContentHasher::is_hash_etag(std::string_view etag) {
  if (etag.size() != 40 && etag.size() != 64) return false;
  for (char ch : etag) {
    if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'))) return false;
  }
  return true;
}

Result<ContentHasher> ContentHasher::for_etag_length(std::size_t etag_length, std::uint64_t size) {
  const EVP_MD* md = etag_length == 64 ? EVP_sha256() : etag_length == 40 ? EVP_sha1() : nullptr;
  if (!md) return invalid_input("no content hash is named by a " + std::to_string(etag_length) + "-character etag");
  std::unique_ptr<Ctx, CtxDeleter> ctx(new Ctx);
  ctx->md = EVP_MD_CTX_new();
  if (!ctx->md || EVP_DigestInit_ex(ctx->md, md, nullptr) != 1) return internal_error("EVP_DigestInit_ex failed");
  ContentHasher h(std::move(ctx));
  if (etag_length == 40) {
    std::string prefix = "blob " + std::to_string(size);
    prefix.push_back('\0');
    h.update(std::as_bytes(std::span(prefix.data(), prefix.size())));
  }
  return h;
}

void ContentHasher::update(std::span<const std::byte> data) {
  EVP_DigestUpdate(ctx_->md, data.data(), data.size());
}

std::string ContentHasher::final_hex() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_DigestFinal_ex(ctx_->md, digest, &n);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < n; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 15]);
  }
  return out;
}

}  // namespace hubload::transfer

namespace hubload {

Result<std::string> hash_file_for_etag(const std::string& path, std::size_t etag_length) {
  HUBLOAD_ASSIGN_OR_RETURN(ReadFile file, ReadFile::open(path));
  HUBLOAD_ASSIGN_OR_RETURN(auto hasher, transfer::ContentHasher::for_etag_length(etag_length, file.size()));
  std::vector<std::byte> buf(1 << 20);
  for (std::uint64_t off = 0; off < file.size();) {
    std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), file.size() - off));
    HUBLOAD_TRY(file.read_at(off, std::span(buf.data(), n)));
    hasher.update(std::span(buf.data(), n));
    off += n;
  }
  return hasher.final_hex();
}

}  // namespace hubload
