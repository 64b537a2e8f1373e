#include "util/digest.h"

#include <openssl/evp.h>

#include <algorithm>
#include <vector>

namespace hubload::util_internal {

void Digest::CtxFree::operator()(evp_md_ctx_st* ctx) const { EVP_MD_CTX_free(ctx); }

Result<Digest> Digest::start(DigestAlgo algo) {
  const EVP_MD* md = algo == DigestAlgo::sha256 ? EVP_sha256() : EVP_sha1();
  Ctx ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestInit_ex(ctx.get(), md, nullptr) != 1) {
    return internal_error(algo == DigestAlgo::sha256 ? "EVP_DigestInit_ex(sha256) failed"
                                                     : "EVP_DigestInit_ex(sha1) failed");
  }
  return Digest(std::move(ctx));
}

Result<Digest> Digest::start_git_blob(std::uint64_t size) {
  HUBLOAD_ASSIGN_OR_RETURN(Digest d, start(DigestAlgo::sha1));
  const std::string header = "blob " + std::to_string(size);
  d.update(std::string_view(header.data(), header.size() + 1));  // with the '\0'
  return d;
}

void Digest::update(std::span<const std::byte> bytes) { EVP_DigestUpdate(ctx_.get(), bytes.data(), bytes.size()); }

Status Digest::update_from(const ReadFile& file) {
  std::vector<std::byte> buf(static_cast<std::size_t>(std::min<std::uint64_t>(1 << 20, file.size())));
  for (std::uint64_t off = 0; off < file.size();) {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), file.size() - off));
    HUBLOAD_TRY(file.read_at(off, std::span(buf.data(), n)));
    update(std::span<const std::byte>(buf.data(), n));
    off += n;
  }
  return ok();
}

std::string Digest::finish_hex() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_DigestFinal_ex(ctx_.get(), digest, &n);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(2 * n, '0');
  for (unsigned int i = 0; i < n; ++i) {
    out[2 * i] = kHex[digest[i] >> 4];
    out[2 * i + 1] = kHex[digest[i] & 15];
  }
  return out;
}

namespace {
std::string one_shot(Result<Digest> digest, std::span<const std::byte> bytes) {
  if (!digest) return {};
  digest->update(bytes);
  return digest->finish_hex();
}
}  // namespace

std::string sha1_hex(std::span<const std::byte> bytes) { return one_shot(Digest::start(DigestAlgo::sha1), bytes); }
std::string sha256_hex(std::span<const std::byte> bytes) { return one_shot(Digest::start(DigestAlgo::sha256), bytes); }
std::string git_blob_sha1_hex(std::span<const std::byte> content) {
  return one_shot(Digest::start_git_blob(content.size()), content);
}

Result<std::string> file_digest_hex(const std::filesystem::path& path, BlobDigest kind) {
  HUBLOAD_ASSIGN_OR_RETURN(ReadFile file, ReadFile::open(path.string()));
  HUBLOAD_ASSIGN_OR_RETURN(Digest digest, kind == BlobDigest::sha256 ? Digest::start(DigestAlgo::sha256)
                                                                     : Digest::start_git_blob(file.size()));
  HUBLOAD_TRY(digest.update_from(file));
  return digest.finish_hex();
}

bool is_lower_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

}  // namespace hubload::util_internal
