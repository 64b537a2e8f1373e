#include "hub/blob_hasher.h"

#include <openssl/evp.h>

#include <fmt/format.h>

#include "hubload/cache.h"

namespace hubload::hub_internal {
namespace {

bool is_lower_hex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

std::string finish_hex(EVP_MD_CTX* ctx) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(ctx, digest, &length);
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) hex += fmt::format("{:02x}", digest[i]);
  return hex;
}

}  // namespace

struct BlobHasher::Impl {
  std::string etag;
  std::uint64_t size = 0;
  const EVP_MD* md = nullptr;  // null: no hash to check
  bool git_blob = false;
  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx{EVP_MD_CTX_new()};
};

BlobHasher::BlobHasher(std::string_view etag, std::uint64_t size) : impl_(std::make_unique<Impl>()) {
  impl_->etag = std::string(etag);
  impl_->size = size;
  if (etag.size() == 64 && is_lower_hex(etag)) impl_->md = EVP_sha256();
  if (etag.size() == 40 && is_lower_hex(etag)) {
    impl_->md = EVP_sha1();
    impl_->git_blob = true;
  }
  reset();
}

BlobHasher::~BlobHasher() = default;

void BlobHasher::reset() {
  if (impl_->md == nullptr) return;
  EVP_DigestInit_ex(impl_->ctx.get(), impl_->md, nullptr);
  if (impl_->git_blob) {
    const std::string header = fmt::format("blob {}", impl_->size);
    EVP_DigestUpdate(impl_->ctx.get(), header.data(), header.size() + 1);  // with the '\0'
  }
}

void BlobHasher::update(std::span<const char> bytes) {
  if (impl_->md != nullptr) EVP_DigestUpdate(impl_->ctx.get(), bytes.data(), bytes.size());
}

Status BlobHasher::verify(std::string_view what) {
  if (impl_->md == nullptr) return ok();
  const std::string hex = finish_hex(impl_->ctx.get());
  if (hex != impl_->etag) {
    return integrity_error(fmt::format("{}: content {} is {} but the server named it {}; not published", what,
                                       impl_->git_blob ? "git-blob sha1" : "sha256", hex, impl_->etag));
  }
  return ok();
}

}  // namespace hubload::hub_internal

namespace hubload::hub_internal {
namespace {
std::string digest_of(std::string_view etag_shape, std::string_view content) {
  const EVP_MD* md = etag_shape.size() == 40 ? EVP_sha1() : EVP_sha256();
  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx{EVP_MD_CTX_new()};
  EVP_DigestInit_ex(ctx.get(), md, nullptr);
  if (etag_shape.size() == 40) {
    const std::string header = fmt::format("blob {}", content.size());
    EVP_DigestUpdate(ctx.get(), header.data(), header.size() + 1);
  }
  EVP_DigestUpdate(ctx.get(), content.data(), content.size());
  return finish_hex(ctx.get());
}
}  // namespace

std::string git_blob_sha1_hex(std::string_view content) { return digest_of(std::string(40, '0'), content); }
std::string sha256_hex(std::string_view content) { return digest_of(std::string(64, '0'), content); }

}  // namespace hubload::hub_internal
