// Where a served repo's bytes come from: a Hub cache folder or a plain folder.
// A source answers three questions: which commit a revision names, which files
// a commit has, and which refs exist. Everything above it (routing, headers,
// faults) is shared. Sources keep their listings (listing_cache.h) and answer a
// file's request without walking the repo.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "hubload/cache.h"
#include "hubload/error.h"
#include "hubload/serve.h"
#include "serve/hash.h"

namespace hubload::serve_internal {

struct RepoFile {
  std::string path;            // repo path, '/'-separated: "sub/notes.txt"
  std::filesystem::path disk;  // the bytes (a blob, or the folder's file)
  std::uint64_t size = 0;
  bool lfs = false;
  std::string sha256;          // LFS content hash when already known (cache blob name)
  std::string git_sha1;        // git blob sha1 when already known (cache blob name)
};

// The ids a client sees: `oid` is the git sha1 of the file, or of its LFS
// pointer; `sha256` is set for LFS files only.
struct FileIds {
  std::string oid;
  std::string sha256;
};
Result<FileIds> file_ids(const RepoFile& file, HashCache& hashes);

struct RepoRef {
  std::string name;    // "main", "v1.0", "refs/pr/1"
  std::string commit;
};

using FileList = std::shared_ptr<const std::vector<RepoFile>>;  // sorted by path

// The file at `path` in a sorted list (a binary search), nullptr if none.
const RepoFile* find_file(const std::vector<RepoFile>& files, const std::string& path);

// The commit a revision names and that commit's files.
struct Revision {
  std::string commit;
  FileList files;
};

class RepoSource {
 public:
  virtual ~RepoSource() = default;
  // `revision` (a branch, tag or commit) and its files, all current: what a
  // listing answers from. not_found when the revision names nothing.
  virtual Result<Revision> revision(std::string_view revision) = 0;
  // The same for a request about one repo path: only what `path` depends on (its
  // file and the folders above it) must be current, so the cost of a file's
  // request does not grow with the repo.
  virtual Result<Revision> revision_for(std::string_view revision, std::string_view path) = 0;
  virtual std::vector<RepoRef> refs() = 0;
  // Folders and files stat'ed to list or check listings (server_testing.h).
  virtual std::uint64_t paths_examined() = 0;
};

// "*.safetensors", "*.bin" and files above the threshold are served as LFS.
bool looks_like_lfs(std::string_view path, std::uint64_t size, std::uint64_t threshold);

// Which symlinked files a source lists (ServeOptions::follow_symlinks). The
// check is made when a listing is built; a refused link is left out, like a
// broken one.
class LinkPolicy {
 public:
  LinkPolicy(SymlinkPolicy policy, const std::vector<std::filesystem::path>& roots);
  // True for a file that is not a symlink; for a link, under `any`, or when its
  // target (every link on the way resolved) lies under one of the roots.
  bool allows(const std::filesystem::path& file) const;

 private:
  SymlinkPolicy policy_;
  std::vector<std::filesystem::path> roots_;  // canonical
};

// One repo of a Hub cache, read through the cache component's layout.
std::unique_ptr<RepoSource> make_cache_repo(RepoCache cache, std::uint64_t lfs_threshold, LinkPolicy links);
std::unique_ptr<RepoSource> make_folder_repo(std::filesystem::path dir, std::uint64_t lfs_threshold,
                                             LinkPolicy links);

}  // namespace hubload::serve_internal
