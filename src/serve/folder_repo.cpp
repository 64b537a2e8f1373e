// A plain folder served as a repo with one branch, "main". Its commit is the
// sha1 of its listing (path, size, mtime of every file), so a client sees a new
// commit after any file changes, and the same commit across server restarts.
#include "serve/listing_cache.h"
#include "serve/repo_source.h"

namespace hubload::serve_internal {
namespace {

namespace fs = std::filesystem;

class FolderRepoSource final : public RepoSource {
 public:
  FolderRepoSource(fs::path dir, std::uint64_t threshold, LinkPolicy links)
      : listings_(std::move(dir), std::move(links),
                  [](const std::string& rel) { return rel == ".git" || rel == ".cache"; },
                  [threshold](RepoFile& f, bool) { f.lfs = looks_like_lfs(f.path, f.size, threshold); }) {}

  Result<Revision> revision(std::string_view revision) override {
    HUBLOAD_ASSIGN_OR_RETURN(std::shared_ptr<const Listing> l, listings_.whole());
    return pick(revision, *l);
  }

  Result<Revision> revision_for(std::string_view revision, std::string_view path) override {
    HUBLOAD_ASSIGN_OR_RETURN(std::shared_ptr<const Listing> l, listings_.for_path(path));
    return pick(revision, *l);
  }

  std::vector<RepoRef> refs() override {
    auto l = listings_.whole();
    if (!l) return {};
    return {RepoRef{"main", (*l)->digest()}};
  }

  std::uint64_t paths_examined() override { return listings_.paths_examined(); }

 private:
  static Result<Revision> pick(std::string_view revision, const Listing& l) {
    if (revision == "main" || revision == l.digest()) return Revision{l.digest(), l.files()};
    return not_found("revision '" + std::string(revision) + "'");
  }

  ListingCache listings_;
};

}  // namespace

std::unique_ptr<RepoSource> make_folder_repo(std::filesystem::path dir, std::uint64_t lfs_threshold,
                                             LinkPolicy links) {
  return std::make_unique<FolderRepoSource>(std::move(dir), lfs_threshold, std::move(links));
}

}  // namespace hubload::serve_internal
