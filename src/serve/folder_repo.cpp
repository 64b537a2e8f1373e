// A plain folder served as a repo with one branch, "main". Its commit is the
// sha1 of its listing (path, size, mtime of every file), so a client sees a new
// commit after any file changes, and the same commit across server restarts.
#include <sys/stat.h>

#include <algorithm>
#include <map>
#include <system_error>

#include "serve/repo_source.h"
#include "util/digest.h"

namespace hubload::serve_internal {
namespace {

namespace fs = std::filesystem;

class FolderRepoSource final : public RepoSource {
 public:
  FolderRepoSource(fs::path dir, std::uint64_t threshold, LinkPolicy links)
      : dir_(std::move(dir)), threshold_(threshold), links_(std::move(links)) {}

  Result<std::string> resolve(std::string_view revision) override {
    HUBLOAD_ASSIGN_OR_RETURN(Listing l, list());
    if (revision == "main" || revision == l.commit) return l.commit;
    return not_found("revision '" + std::string(revision) + "'");
  }

  Result<FileList> files(const std::string& commit) override {
    HUBLOAD_ASSIGN_OR_RETURN(Listing l, list());
    if (commit != l.commit) return not_found("revision '" + commit + "'");
    return l.files;
  }

  std::vector<RepoRef> refs() override {
    auto l = list();
    if (!l) return {};
    return {RepoRef{"main", l->commit}};
  }

 private:
  struct Listing {
    FileList files;
    std::string commit;
  };

  // Re-walked per request: a model folder has tens of files, and a stale
  // listing would serve a commit that no longer matches the bytes.
  Result<Listing> list() const {
    std::error_code ec;
    auto files = std::make_shared<std::vector<RepoFile>>();
    fs::recursive_directory_iterator it(dir_, ec), end;
    if (ec) return errno_error(dir_.string(), ec.value());
    std::map<std::string, std::string> mtimes;  // repo path -> "sec.nsec"
    for (; it != end; it.increment(ec)) {
      if (ec) return errno_error(dir_.string(), ec.value());
      std::string name = it->path().filename().string();
      if (it->is_directory(ec) && it.depth() == 0 && (name == ".git" || name == ".cache")) {
        it.disable_recursion_pending();
        continue;
      }
      if (!it->is_regular_file(ec) || !links_.allows(it->path())) continue;
      struct stat st {};
      if (::stat(it->path().c_str(), &st) != 0) return errno_error(it->path().string(), errno);
      RepoFile f;
      f.path = it->path().lexically_relative(dir_).generic_string();
      f.disk = it->path();
      f.size = static_cast<std::uint64_t>(st.st_size);
      f.lfs = looks_like_lfs(f.path, f.size, threshold_);
      mtimes[f.path] = std::to_string(st.st_mtim.tv_sec) + '.' + std::to_string(st.st_mtim.tv_nsec);
      files->push_back(std::move(f));
    }
    std::sort(files->begin(), files->end(), [](const RepoFile& a, const RepoFile& b) { return a.path < b.path; });
    std::string fingerprint;
    for (const RepoFile& f : *files) fingerprint += f.path + '\0' + std::to_string(f.size) + '\0' + mtimes[f.path] + '\n';
    return Listing{std::move(files), util_internal::sha1_hex(fingerprint)};
  }

  const fs::path dir_;
  const std::uint64_t threshold_;
  const LinkPolicy links_;
};

}  // namespace

std::unique_ptr<RepoSource> make_folder_repo(std::filesystem::path dir, std::uint64_t lfs_threshold,
                                             LinkPolicy links) {
  return std::make_unique<FolderRepoSource>(std::move(dir), lfs_threshold, std::move(links));
}

}  // namespace hubload::serve_internal
