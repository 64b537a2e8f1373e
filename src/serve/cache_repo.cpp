// A repo folder of a huggingface_hub cache (hub-protocol.md §10), read through
// RepoCache: refs/<rev> hold commits, snapshots/<commit>/ hold the files as
// symlinks to blobs/<etag>. The blob name tells the file kind: 64 hex = LFS
// (sha256), 40 hex = git sha1.
#include <algorithm>
#include <map>
#include <mutex>
#include <system_error>

#include "serve/listing_cache.h"
#include "serve/repo_source.h"
#include "util/digest.h"

namespace hubload::serve_internal {
namespace {

namespace fs = std::filesystem;

class CacheRepo final : public RepoSource {
 public:
  CacheRepo(RepoCache cache, std::uint64_t threshold, LinkPolicy links)
      : cache_(std::move(cache)), threshold_(threshold), links_(std::move(links)) {}

  Result<Revision> revision(std::string_view revision) override {
    HUBLOAD_ASSIGN_OR_RETURN(std::string commit, resolve(revision));
    HUBLOAD_ASSIGN_OR_RETURN(std::shared_ptr<const Listing> l, snapshot(commit).whole());
    return Revision{std::move(commit), l->files()};
  }

  Result<Revision> revision_for(std::string_view revision, std::string_view path) override {
    HUBLOAD_ASSIGN_OR_RETURN(std::string commit, resolve(revision));
    HUBLOAD_ASSIGN_OR_RETURN(std::shared_ptr<const Listing> l, snapshot(commit).for_path(path));
    return Revision{std::move(commit), l->files()};
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

  std::uint64_t paths_examined() override {
    std::lock_guard lock(mu_);
    std::uint64_t n = 0;
    for (const auto& entry : snapshots_) n += entry.second->paths_examined();
    return n;
  }

 private:
  Result<std::string> resolve(std::string_view revision) {
    // resolve_commit reads refs verbatim (no trimming), like the Python client, and
    // refuses revisions that would climb out of refs/.
    auto commit = cache_.resolve_commit(revision);
    std::error_code ec;
    if (!commit || !commit->has_value() || !fs::is_directory(cache_.snapshot_dir(**commit), ec)) {
      return not_found("revision '" + std::string(revision) + "'");
    }
    return std::move(**commit);
  }

  // A snapshot's links name content-addressed blobs, but a later download of the
  // same commit may add links to it: its listing is checked like a folder's.
  ListingCache& snapshot(const std::string& commit) {
    std::lock_guard lock(mu_);
    std::unique_ptr<ListingCache>& slot = snapshots_[commit];
    if (!slot) {
      const std::uint64_t threshold = threshold_;
      slot = std::make_unique<ListingCache>(
          cache_.snapshot_dir(commit), links_, [](const std::string&) { return false; },
          [threshold](RepoFile& f, bool link) {
            std::error_code ec;
            std::string blob = link ? fs::read_symlink(f.disk, ec).filename().string() : "";
            if (util_internal::is_sha256_hex(blob)) {
              f.lfs = true;
              f.sha256 = blob;
            } else if (util_internal::is_git_sha1_hex(blob)) {
              f.git_sha1 = blob;
            } else {
              f.lfs = looks_like_lfs(f.path, f.size, threshold);  // a copy, not a link: hash on demand
            }
          });
    }
    return *slot;
  }

  const RepoCache cache_;
  const std::uint64_t threshold_;
  const LinkPolicy links_;
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<ListingCache>> snapshots_;  // commit -> listing; guarded by mu_
};

}  // namespace

std::unique_ptr<RepoSource> make_cache_repo(RepoCache cache, std::uint64_t lfs_threshold, LinkPolicy links) {
  return std::make_unique<CacheRepo>(std::move(cache), lfs_threshold, std::move(links));
}

}  // namespace hubload::serve_internal
