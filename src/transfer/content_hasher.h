// The hash a cache blob is named by: sha256 of the content for a 64-hex name
// (LFS), the git blob sha1 = sha1("blob <size>\0" + content) for a 40-hex name
// (hub-protocol.md §4). util_internal::Digest underneath; move-only RAII.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "hubload/error.h"
#include "util/digest.h"

namespace hubload::transfer_internal {

class ContentHasher {
 public:
  // `etag_length` 64 -> sha256, 40 -> git blob sha1 over `size` bytes; anything
  // else is invalid_input.
  static Result<ContentHasher> for_etag_length(std::size_t etag_length, std::uint64_t size);

  void update(std::span<const std::byte> data) { digest_.update(data); }
  Status update_from(const ReadFile& file) { return digest_.update_from(file); }  // the whole file
  std::string final_hex() { return digest_.finish_hex(); }  // lower-case hex; the hasher is spent afterwards

 private:
  explicit ContentHasher(util_internal::Digest digest) : digest_(std::move(digest)) {}
  util_internal::Digest digest_;
};

}  // namespace hubload::transfer_internal
