#include "serve/repo_source.h"

#include <algorithm>
#include <system_error>

namespace hubload::serve_internal {

bool looks_like_lfs(std::string_view path, std::uint64_t size, std::uint64_t threshold) {
  return path.ends_with(".safetensors") || path.ends_with(".bin") || size > threshold;
}

const RepoFile* find_file(const std::vector<RepoFile>& files, const std::string& path) {
  auto it = std::lower_bound(files.begin(), files.end(), path,
                             [](const RepoFile& f, const std::string& p) { return f.path < p; });
  return it != files.end() && it->path == path ? &*it : nullptr;
}

LinkPolicy::LinkPolicy(SymlinkPolicy policy, const std::vector<std::filesystem::path>& roots) : policy_(policy) {
  for (const std::filesystem::path& r : roots) {
    std::error_code ec;
    std::filesystem::path c = std::filesystem::weakly_canonical(r, ec);
    if (!ec) roots_.push_back(std::move(c));
  }
}

bool LinkPolicy::allows(const std::filesystem::path& file) const {
  std::error_code ec;
  // Listings do not descend into linked directories, so only the file itself can be a link.
  if (!std::filesystem::is_symlink(file, ec) || policy_ == SymlinkPolicy::any) return true;
  std::filesystem::path target = std::filesystem::canonical(file, ec);
  if (ec) return false;
  for (const std::filesystem::path& root : roots_) {
    std::filesystem::path rel = target.lexically_relative(root);
    if (!rel.empty() && *rel.begin() != ".." && rel != ".") return true;
  }
  return false;
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
