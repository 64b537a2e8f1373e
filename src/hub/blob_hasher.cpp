#include "hub/blob_hasher.h"

#include <optional>

#include <fmt/format.h>

#include "util/digest.h"

namespace hubload::hub_internal {

struct BlobHasher::Impl {
  std::string etag;
  std::uint64_t size = 0;
  bool git_blob = false;
  // nullopt: no hash to check; an error: OpenSSL could not start one.
  std::optional<Result<util::Digest>> digest;
};

BlobHasher::BlobHasher(std::string_view etag, std::uint64_t size) : impl_(std::make_unique<Impl>()) {
  impl_->etag = std::string(etag);
  impl_->size = size;
  impl_->git_blob = etag.size() == 40;
  reset();
}

BlobHasher::~BlobHasher() = default;

void BlobHasher::reset() {
  const std::string_view etag = impl_->etag;
  if ((etag.size() != 64 && etag.size() != 40) || !util::is_lower_hex(etag)) return;
  impl_->digest = impl_->git_blob ? util::Digest::start_git_blob(impl_->size)
                                  : util::Digest::start(util::DigestAlgo::sha256);
}

void BlobHasher::update(std::span<const char> bytes) {
  if (impl_->digest && *impl_->digest) (*impl_->digest)->update(std::as_bytes(bytes));
}

Status BlobHasher::verify(std::string_view what) {
  if (!impl_->digest) return ok();
  if (!*impl_->digest) return impl_->digest->error();
  const std::string hex = (*impl_->digest)->finish_hex();
  if (hex != impl_->etag) {
    return integrity_error(fmt::format("{}: content {} is {} but the server named it {}; not published", what,
                                       impl_->git_blob ? "git-blob sha1" : "sha256", hex, impl_->etag));
  }
  return ok();
}

std::string git_blob_sha1_hex(std::string_view content) { return util::git_blob_sha1_hex(util::bytes_of(content)); }
std::string sha256_hex(std::string_view content) { return util::sha256_hex(util::bytes_of(content)); }

}  // namespace hubload::hub_internal
