// A served folder's files as one walk saw them, kept between requests. A
// listing is reused while the stamps the walk recorded still hold: every
// folder's mtime (it moves when an entry is added, removed or renamed) and every
// file's size and mtime (they move when its bytes change in place; for a
// symlink, its target's). A request about one file checks only what that file
// depends on, the file and the folders above it, so its cost does not grow with
// the repo; a listing request checks every stamp (one stat each, no walk).
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "hubload/error.h"
#include "serve/repo_source.h"

namespace hubload::serve_internal {

// Completes a walked file (path, disk and size set) by the source's rules:
// whether it is LFS, which hashes its name already tells. `link`: the folder
// entry is a symlink.
using ClassifyFile = std::function<void(RepoFile& file, bool link)>;
// Folders the walk does not enter, by repo path (a plain folder's ".git").
using SkipFolder = std::function<bool(const std::string& repo_path)>;

class Listing {
 public:
  const FileList& files() const { return files_; }
  // sha1 of every file's path, size and mtime: moves whenever one of them does.
  const std::string& digest() const { return digest_; }

 private:
  friend class ListingCache;
  struct Stamp {
    bool listed = false;  // false: a symlink the walk left out (broken, or refused by the policy)
    bool link = false;
    std::uint64_t size = 0;
    std::int64_t mtime_ns = 0;
    bool operator==(const Stamp&) const = default;
  };
  FileList files_;
  std::string digest_;
  std::map<std::string, std::int64_t> folders_;  // repo path ("" = the root) -> mtime in ns
  std::map<std::string, Stamp> stamps_;          // every file and symlink the walk met
  // False when something changed too close to the walk for its mtime to tell a
  // later change apart (timestamps are coarse): such a listing is not kept.
  bool reusable_ = false;
};

class ListingCache {
 public:
  ListingCache(std::filesystem::path root, LinkPolicy links, SkipFolder skip, ClassifyFile classify);

  // The listing, current as a whole: for repo info, tree and paths-info.
  Result<std::shared_ptr<const Listing>> whole();
  // The listing, current for the one repo path `path`: the file itself and the
  // folders above it are as it says; other files may be as a recent walk saw them.
  Result<std::shared_ptr<const Listing>> for_path(std::string_view path);
  // Folders and files stat'ed so far, by walks and checks: what tests count.
  std::uint64_t paths_examined() const { return examined_.load(); }

 private:
  Result<std::shared_ptr<const Listing>> get(const std::string* path);
  Result<std::shared_ptr<const Listing>> walk();
  bool current(const Listing& l, const std::string* path);
  bool folder_unchanged(const std::string& rel, std::int64_t mtime_ns);
  Listing::Stamp stamp_of(const std::filesystem::path& disk, bool link);

  const std::filesystem::path root_;
  const LinkPolicy links_;
  const SkipFolder skip_;
  const ClassifyFile classify_;
  std::atomic<std::uint64_t> examined_{0};
  std::mutex build_mu_;  // one walk at a time: requests that find the listing stale wait for it
  std::mutex mu_;
  std::shared_ptr<const Listing> last_;  // guarded by mu_; null when none is reusable
};

}  // namespace hubload::serve_internal
