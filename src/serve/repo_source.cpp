#include "serve/repo_source.h"

namespace hubload::serve_internal {

bool looks_like_lfs(std::string_view path, std::uint64_t size, std::uint64_t threshold) {
  return path.ends_with(".safetensors") || path.ends_with(".bin") || size > threshold;
}

Result<FileIds> file_ids(const RepoFile& file, HashCache& hashes) {
  FileIds ids;
  if (file.lfs) {
    ids.sha256 = file.sha256;
    if (ids.sha256.empty()) {
      HUBLOAD_ASSIGN_OR_RETURN(ids.sha256, hashes.get(file.disk, util_internal::BlobDigest::sha256));
    }
    ids.oid = util_internal::git_blob_sha1_hex(lfs_pointer(ids.sha256, file.size));
    return ids;
  }
  ids.oid = file.git_sha1;
  if (ids.oid.empty()) {
    HUBLOAD_ASSIGN_OR_RETURN(ids.oid, hashes.get(file.disk, util_internal::BlobDigest::git_sha1));
  }
  return ids;
}

}  // namespace hubload::serve_internal
