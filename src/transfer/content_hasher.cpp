#include "transfer/content_hasher.h"

#include "hubload/file.h"
#include "hubload/transfer.h"

namespace hubload::transfer_internal {

bool ContentHasher::is_hash_etag(std::string_view etag) {
  return (etag.size() == 40 || etag.size() == 64) && util::is_lower_hex(etag);
}

Result<ContentHasher> ContentHasher::for_etag_length(std::size_t etag_length, std::uint64_t size) {
  if (etag_length == 64) {
    HUBLOAD_ASSIGN_OR_RETURN(util::Digest digest, util::Digest::start(util::DigestAlgo::sha256));
    return ContentHasher(std::move(digest));
  }
  if (etag_length == 40) {
    HUBLOAD_ASSIGN_OR_RETURN(util::Digest digest, util::Digest::start_git_blob(size));
    return ContentHasher(std::move(digest));
  }
  return invalid_input("no content hash is named by a " + std::to_string(etag_length) + "-character etag");
}

}  // namespace hubload::transfer_internal

namespace hubload {

Result<std::string> hash_file_for_etag(const std::filesystem::path& path, std::size_t etag_length) {
  HUBLOAD_ASSIGN_OR_RETURN(ReadFile file, ReadFile::open(path.string()));
  HUBLOAD_ASSIGN_OR_RETURN(auto hasher, transfer_internal::ContentHasher::for_etag_length(etag_length, file.size()));
  HUBLOAD_TRY(hasher.update_from(file));
  return hasher.final_hex();
}

}  // namespace hubload
