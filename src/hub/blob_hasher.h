// Streaming verification of a blob against its name (hub-protocol.md §13):
// 64-hex etags are sha256 of the content, 40-hex etags git-blob sha1
// ("blob <size>\0" + content). Other etags can only be size-checked.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "hubload/error.h"

namespace hubload::hub_internal {

class BlobHasher {
 public:
  // Picks the hash from the etag's shape; `size` is needed up front for git sha1.
  BlobHasher(std::string_view etag, std::uint64_t size);
  ~BlobHasher();
  BlobHasher(const BlobHasher&) = delete;
  BlobHasher& operator=(const BlobHasher&) = delete;

  void update(std::span<const char> bytes);
  // Restarts from zero bytes (a retried transfer).
  void reset();
  // integrity error naming `what` when the digest differs from the etag.
  Status verify(std::string_view what);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hubload::hub_internal

namespace hubload::hub_internal {

// Hex digest of a whole buffer: git-blob sha1 (the etag of a regular file) or
// sha256 (the etag of an LFS file). For tests and fakes that must name blobs.
std::string git_blob_sha1_hex(std::string_view content);
std::string sha256_hex(std::string_view content);

}  // namespace hubload::hub_internal
