// A repo folder of a huggingface_hub cache (hub-protocol.md §10), read through
// RepoCache: refs/<rev> hold commits, snapshots/<commit>/ hold the files as
// symlinks to blobs/<etag>. The blob name tells the file kind: 64 hex = LFS
// (sha256), 40 hex = git sha1.
#include <algorithm>
#include <map>
#include <mutex>
#include <system_error>

#include "serve/repo_source.h"
#include "util/digest.h"

namespace hubload::serve_internal {
namespace {

namespace fs = std::filesystem;

class CacheRepo final : public RepoSource {
 public:
  CacheRepo(RepoCache cache, std::uint64_t threshold, LinkPolicy links)
      : cache_(std::move(cache)), threshold_(threshold), links_(std::move(links)) {}

  Result<std::string> resolve(std::string_view revision) override {
    // resolve_commit reads refs verbatim (no trimming), like the Python client, and
    // refuses revisions that would climb out of refs/.
    auto commit = cache_.resolve_commit(revision);
    std::error_code ec;
    if (!commit || !commit->has_value() || !fs::is_directory(cache_.snapshot_dir(**commit), ec)) {
      return not_found("revision '" + std::string(revision) + "'");
    }
    return std::move(**commit);
  }

  Result<FileList> files(const std::string& commit) override {
    {
      std::lock_guard lock(mu_);
      auto it = listings_.find(commit);
      if (it != listings_.end()) return it->second;
    }
    const fs::path root = cache_.snapshot_dir(commit);
    std::error_code ec;
    auto out = std::make_shared<std::vector<RepoFile>>();
    fs::recursive_directory_iterator it(root, ec), end;
    if (ec) return errno_error(root.string(), ec.value());
    for (; it != end; it.increment(ec)) {
      if (ec) return errno_error(root.string(), ec.value());
      const fs::directory_entry& e = *it;
      // Follows the symlink; broken links, and links the policy refuses, are skipped.
      if (!e.is_regular_file(ec) || !links_.allows(e.path())) continue;
      RepoFile f;
      f.path = e.path().lexically_relative(root).generic_string();
      f.disk = e.path();
      f.size = e.file_size(ec);
      if (ec) return errno_error(e.path().string(), ec.value());
      std::string blob = e.is_symlink(ec) ? fs::read_symlink(e.path(), ec).filename().string() : "";
      if (util_internal::is_sha256_hex(blob)) {
        f.lfs = true;
        f.sha256 = blob;
      } else if (util_internal::is_git_sha1_hex(blob)) {
        f.git_sha1 = blob;
      } else {
        f.lfs = looks_like_lfs(f.path, f.size, threshold_);  // a copy, not a link: hash on demand
      }
      out->push_back(std::move(f));
    }
    std::sort(out->begin(), out->end(), [](const RepoFile& a, const RepoFile& b) { return a.path < b.path; });
    std::lock_guard lock(mu_);
    // Snapshots are immutable once written, so a listing never goes stale.
    return listings_.emplace(commit, std::move(out)).first->second;
  }

  std::vector<RepoRef> refs() override {
    std::vector<RepoRef> out;
    std::error_code ec;
    const fs::path root = cache_.repo_dir() / "refs";
    fs::recursive_directory_iterator it(root, ec), end;
    for (; !ec && it != end; it.increment(ec)) {
      if (!it->is_regular_file(ec)) continue;
      std::string name = it->path().lexically_relative(root).generic_string();
      auto commit = resolve(name);
      if (commit) out.push_back({name, *commit});
    }
    std::sort(out.begin(), out.end(), [](const RepoRef& a, const RepoRef& b) { return a.name < b.name; });
    return out;
  }

 private:
  const RepoCache cache_;
  const std::uint64_t threshold_;
  const LinkPolicy links_;
  std::mutex mu_;
  std::map<std::string, FileList> listings_;  // guarded by mu_
};

}  // namespace

std::unique_ptr<RepoSource> make_cache_repo(RepoCache cache, std::uint64_t lfs_threshold, LinkPolicy links) {
  return std::make_unique<CacheRepo>(std::move(cache), lfs_threshold, std::move(links));
}

}  // namespace hubload::serve_internal
