#include "transfer/content_hasher.h"

#include "hubload/file.h"
#include "hubload/transfer.h"

namespace hubload::transfer_internal {

Result<ContentHasher> ContentHasher::for_etag_length(std::size_t etag_length, std::uint64_t size) {
  if (etag_length == 64) {
    HUBLOAD_ASSIGN_OR_RETURN(util_internal::Digest digest, util_internal::Digest::start(util_internal::DigestAlgo::sha256));
    return ContentHasher(std::move(digest));
  }
  if (etag_length == 40) {
    HUBLOAD_ASSIGN_OR_RETURN(util_internal::Digest digest, util_internal::Digest::start_git_blob(size));
    return ContentHasher(std::move(digest));
  }
  return invalid_input("no content hash is named by a " + std::to_string(etag_length) + "-character etag");
}

}  // namespace hubload::transfer_internal

namespace hubload {

Result<std::string> hash_file_for_etag(const std::filesystem::path& path, std::size_t etag_length) {
  if (etag_length != 64 && etag_length != 40) {
    return invalid_input("no content hash is named by a " + std::to_string(etag_length) + "-character etag");
  }
  return util_internal::file_digest_hex(path, etag_length == 64 ? util_internal::BlobDigest::sha256 : util_internal::BlobDigest::git_sha1);
}

}  // namespace hubload
