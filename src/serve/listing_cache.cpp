#include "serve/listing_cache.h"

#include <sys/stat.h>

#include <algorithm>
#include <system_error>
#include <vector>

#include "serve/hash.h"
#include "util/digest.h"

namespace hubload::serve_internal {
namespace {

namespace fs = std::filesystem;

std::int64_t mtime_ns(const struct stat& st) {
  return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

// "sec.nsec", as folder commits have always been computed.
std::string mtime_text(std::int64_t ns) {
  std::int64_t sec = ns / 1'000'000'000, nsec = ns % 1'000'000'000;
  if (nsec < 0) {
    sec -= 1;
    nsec += 1'000'000'000;
  }
  return std::to_string(sec) + '.' + std::to_string(nsec);
}

}  // namespace

ListingCache::ListingCache(fs::path root, LinkPolicy links, SkipFolder skip, ClassifyFile classify)
    : root_(std::move(root)), links_(std::move(links)), skip_(std::move(skip)), classify_(std::move(classify)) {}

Result<std::shared_ptr<const Listing>> ListingCache::whole() { return get(nullptr); }

Result<std::shared_ptr<const Listing>> ListingCache::for_path(std::string_view path) {
  const std::string p(path);
  return get(&p);
}

Result<std::shared_ptr<const Listing>> ListingCache::get(const std::string* path) {
  std::shared_ptr<const Listing> seen;
  {
    std::lock_guard lock(mu_);
    seen = last_;
  }
  if (seen && current(*seen, path)) return seen;
  std::lock_guard build(build_mu_);
  std::shared_ptr<const Listing> latest;
  {
    std::lock_guard lock(mu_);
    latest = last_;
  }
  // Another request may have walked while this one waited for the lock.
  if (latest && latest != seen && current(*latest, path)) return latest;
  HUBLOAD_ASSIGN_OR_RETURN(std::shared_ptr<const Listing> fresh, walk());
  std::lock_guard lock(mu_);
  last_ = fresh->reusable_ ? fresh : nullptr;
  return fresh;
}

Listing::Stamp ListingCache::stamp_of(const fs::path& disk, bool link) {
  examined_.fetch_add(1, std::memory_order_relaxed);
  Listing::Stamp s;
  s.link = link;
  struct stat st {};
  // Follows a symlink: its target's size and mtime are what a change moves.
  if (::stat(disk.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return s;
  if (link && !links_.allows(disk)) return s;
  s.listed = true;
  s.size = static_cast<std::uint64_t>(st.st_size);
  s.mtime_ns = mtime_ns(st);
  return s;
}

bool ListingCache::folder_unchanged(const std::string& rel, std::int64_t mtime) {
  examined_.fetch_add(1, std::memory_order_relaxed);
  struct stat st {};
  const fs::path disk = rel.empty() ? root_ : root_ / rel;
  return ::lstat(disk.c_str(), &st) == 0 && S_ISDIR(st.st_mode) && mtime_ns(st) == mtime;
}

bool ListingCache::current(const Listing& l, const std::string* path) {
  if (path == nullptr) {
    for (const auto& [rel, mtime] : l.folders_) {
      if (!folder_unchanged(rel, mtime)) return false;
    }
    for (const auto& [rel, stamp] : l.stamps_) {
      if (stamp_of(root_ / rel, stamp.link) != stamp) return false;
    }
    return true;
  }
  // The folders above the path, from the root down, as far as the walk entered
  // them: one the walk did not enter was absent or skipped, and making it appear
  // moves the mtime of its parent, which is checked.
  for (std::size_t end = 0;;) {
    const std::string folder = path->substr(0, end);  // "" first: the root
    auto it = l.folders_.find(folder);
    if (it == l.folders_.end()) break;
    if (!folder_unchanged(folder, it->second)) return false;
    end = path->find('/', end == 0 ? 0 : end + 1);
    if (end == std::string::npos) break;
  }
  auto it = l.stamps_.find(*path);
  return it == l.stamps_.end() || stamp_of(root_ / *path, it->second.link) == it->second;
}

Result<std::shared_ptr<const Listing>> ListingCache::walk() {
  auto l = std::make_shared<Listing>();
  auto files = std::make_shared<std::vector<RepoFile>>();
  const std::int64_t started = realtime_now_ns();
  std::int64_t newest = 0;
  // Each folder is stat'ed before it is read, so an entry added after the
  // read moves an mtime newer than the one recorded.
  auto note_folder = [&](const fs::path& disk, const std::string& rel) -> Status {
    examined_.fetch_add(1, std::memory_order_relaxed);
    struct stat st {};
    if (::lstat(disk.c_str(), &st) != 0) return errno_error(disk.string(), errno);
    l->folders_[rel] = mtime_ns(st);
    newest = std::max(newest, mtime_ns(st));
    return {};
  };
  HUBLOAD_TRY(note_folder(root_, ""));
  std::error_code ec;
  fs::recursive_directory_iterator it(root_, ec), end;
  if (ec) return errno_error(root_.string(), ec.value());
  for (; it != end; it.increment(ec)) {
    if (ec) return errno_error(root_.string(), ec.value());
    const fs::directory_entry& e = *it;
    std::string rel = e.path().lexically_relative(root_).generic_string();
    // The entry's type comes from the directory read; links to folders are not entered.
    const bool link = e.is_symlink(ec);
    if (!link && e.is_directory(ec)) {
      if (skip_(rel)) {
        it.disable_recursion_pending();
        continue;
      }
      HUBLOAD_TRY(note_folder(e.path(), rel));
      continue;
    }
    if (!link && !e.is_regular_file(ec)) continue;  // sockets, fifos: never listed
    Listing::Stamp stamp = stamp_of(e.path(), link);
    l->stamps_[rel] = stamp;
    if (!stamp.listed) continue;
    newest = std::max(newest, stamp.mtime_ns);
    RepoFile f;
    f.path = std::move(rel);
    f.disk = e.path();
    f.size = stamp.size;
    classify_(f, link);
    files->push_back(std::move(f));
  }
  std::sort(files->begin(), files->end(), [](const RepoFile& a, const RepoFile& b) { return a.path < b.path; });
  std::string fingerprint;
  for (const RepoFile& f : *files) {
    fingerprint += f.path + '\0' + std::to_string(f.size) + '\0' + mtime_text(l->stamps_[f.path].mtime_ns) + '\n';
  }
  l->digest_ = util_internal::sha1_hex(fingerprint);
  l->files_ = std::move(files);
  l->reusable_ = !too_recent(newest, started);
  return std::shared_ptr<const Listing>(std::move(l));
}

}  // namespace hubload::serve_internal
