// scan_cache: the whole cache read once into values, as huggingface_hub's
// scan_cache_dir does, with every inconsistency turned into a warning.
#include <sys/stat.h>

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

#include "cache_manage/partials.h"
#include "hubload/cache_manage.h"

namespace hubload {
namespace fs = std::filesystem;
namespace {

struct BlobStat {
  std::uint64_t size = 0;
  std::int64_t atime = 0;
  std::int64_t mtime = 0;
};

std::optional<BlobStat> stat_file(const fs::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return std::nullopt;
  return BlobStat{static_cast<std::uint64_t>(st.st_size), st.st_atim.tv_sec, st.st_mtim.tv_sec};
}

std::int64_t mtime_of(const fs::path& p) {
  auto s = stat_file(p);
  return s ? s->mtime : 0;
}

void read_refs(CachedRepo& repo, std::vector<std::string>& warnings) {
  const fs::path refs = repo.dir / "refs";
  std::error_code ec;
  if (!fs::is_directory(refs, ec)) return;
  for (auto it = fs::recursive_directory_iterator(refs, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    const std::string name = it->path().lexically_relative(refs).generic_string();
    auto text = read_text_file(it->path().string());
    if (!text) {
      warnings.push_back(fmt::format("{}: unreadable ref: {}", it->path().string(), text.error().message()));
    } else if (!is_commit_hash(*text)) {
      warnings.push_back(fmt::format("{}: ref is not 40 hex characters (a trailing newline breaks Python's lookup)",
                                     it->path().string()));
    } else {
      repo.refs[name] = *text;
    }
  }
}

// One snapshot's files; a dangling link is a warning and left out.
void read_snapshot(CachedRevision& rev, const fs::path& blobs_dir, std::vector<std::string>& warnings) {
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(rev.snapshot, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    const fs::path& p = it->path();
    if (p.filename() == ".DS_Store") continue;
    const bool link = it->is_symlink(ec);
    if (!link && it->is_directory(ec)) continue;
    CachedFile f;
    f.path = p.lexically_relative(rev.snapshot).generic_string();
    f.blob_path = p;
    if (link) {
      const fs::path target = fs::read_symlink(p, ec);
      const fs::path resolved = (target.is_absolute() ? target : p.parent_path() / target).lexically_normal();
      if (resolved.parent_path() == blobs_dir.lexically_normal()) f.blob = resolved.filename().string();
      f.blob_path = resolved;
    }
    auto st = stat_file(f.blob_path);
    if (!st) {
      warnings.push_back(fmt::format("{}: dangling link (blob {} is missing)", p.string(), f.blob_path.string()));
      rev.dangling.push_back(std::move(f.path));
      continue;
    }
    f.size = st->size;
    rev.files.push_back(std::move(f));
  }
  std::sort(rev.files.begin(), rev.files.end(), [](const CachedFile& a, const CachedFile& b) { return a.path < b.path; });
}

// The key under which a file's bytes are counted once: its blob, or the file itself.
std::string bytes_key(const CachedFile& f) { return f.blob.empty() ? f.blob_path.string() : f.blob; }

CachedRepo scan_repo(const fs::path& dir, RepoType type, std::string id, const ScanOptions& options,
                     std::vector<std::string>& warnings) {
  CachedRepo repo;
  repo.id = std::move(id);
  repo.type = type;
  repo.dir = dir;
  const fs::path blobs_dir = dir / "blobs";
  read_refs(repo, warnings);

  std::error_code ec;
  const fs::path snapshots = dir / "snapshots";
  if (!fs::is_directory(snapshots, ec)) {
    warnings.push_back(fmt::format("{}: no snapshots folder", dir.string()));
  } else {
    for (const auto& e : fs::directory_iterator(snapshots, ec)) {
      const std::string name = e.path().filename().string();
      if (name == ".DS_Store") continue;
      if (!e.is_directory(ec) || !is_commit_hash(name)) {
        warnings.push_back(fmt::format("{}: not a snapshot folder named by a 40-hex commit", e.path().string()));
        continue;
      }
      CachedRevision rev;
      rev.commit = name;
      rev.snapshot = e.path();
      rev.last_modified = mtime_of(e.path());
      read_snapshot(rev, blobs_dir, warnings);
      repo.revisions.push_back(std::move(rev));
    }
  }
  std::sort(repo.revisions.begin(), repo.revisions.end(),
            [](const CachedRevision& a, const CachedRevision& b) { return a.commit < b.commit; });
  for (const auto& entry : repo.refs) {
    // Named, not a structured binding: clang 14 cannot capture a binding in a lambda.
    const std::string& ref = entry.first;
    const std::string& commit = entry.second;
    auto rev = std::find_if(repo.revisions.begin(), repo.revisions.end(),
                            [&](const CachedRevision& r) { return r.commit == commit; });
    if (rev == repo.revisions.end()) {
      warnings.push_back(fmt::format("{}: ref '{}' points to missing snapshot {}", dir.string(), ref, commit));
    } else {
      rev->refs.push_back(ref);
    }
  }

  // Each blob once per repo; `attached` holds those a ref'd revision links to.
  std::map<std::string, BlobStat> linked;
  std::set<std::string> attached;
  for (CachedRevision& rev : repo.revisions) {
    std::set<std::string> own;
    for (const CachedFile& f : rev.files) {
      const std::string key = bytes_key(f);
      if (own.insert(key).second) rev.size += f.size;
      if (!rev.detached()) attached.insert(key);
      if (!linked.count(key)) linked[key] = stat_file(f.blob_path).value_or(BlobStat{f.size, 0, 0});
    }
  }
  for (const auto& [key, st] : linked) {
    repo.size += st.size;
    repo.last_accessed = std::max(repo.last_accessed, st.atime);
    repo.last_modified = std::max(repo.last_modified, st.mtime);
    if (!attached.count(key)) repo.reclaimable += st.size;
  }
  repo.files = linked.size();
  if (linked.empty()) repo.last_accessed = repo.last_modified = mtime_of(dir);

  std::vector<std::string> partial_names;
  for (const auto& e : fs::directory_iterator(blobs_dir, ec)) {
    const std::string name = e.path().filename().string();
    if (cache_manage_internal::is_partial_name(name)) {
      partial_names.push_back(name);
    } else if (!linked.count(name)) {
      repo.orphan_blobs.push_back(e.path());
      repo.orphan_size += stat_file(e.path()).value_or(BlobStat{}).size;
    }
  }
  std::sort(repo.orphan_blobs.begin(), repo.orphan_blobs.end());
  repo.reclaimable += repo.orphan_size;
  repo.partials = cache_manage_internal::classify_partials(blobs_dir, partial_names, options.adoption_window);
  for (const CachedPartial& p : repo.partials) {
    if (p.stale) repo.reclaimable += p.size;
  }
  return repo;
}

}  // namespace

std::string CachedRepo::display_id() const { return fmt::format("{}/{}", to_string(type), id); }

Result<CacheScan> scan_cache(const fs::path& root, const ScanOptions& options) {
  std::error_code ec;
  if (!fs::exists(root, ec)) return not_found(fmt::format("cache directory {} does not exist", root.string()));
  if (!fs::is_directory(root, ec)) return invalid_input(fmt::format("cache directory {} is not a folder", root.string()));
  CacheScan scan;
  scan.root = root;
  fs::directory_iterator it(root, ec);
  if (ec) return errno_error(root.string(), ec.value());
  for (const auto& e : it) {
    const std::string name = e.path().filename().string();
    if (name == ".locks" || name == "CACHEDIR.TAG" || name == ".DS_Store") continue;
    Result<RepoFolder> parsed = parse_repo_folder_name(name);
    if (!parsed || !e.is_directory(ec)) {
      scan.warnings.push_back(fmt::format("{}: stray entry at the cache root (not a <type>s--<id> repo folder)",
                                          e.path().string()));
      continue;
    }
    scan.repos.push_back(scan_repo(e.path(), parsed->type, parsed->repo_id, options, scan.warnings));
  }
  std::sort(scan.repos.begin(), scan.repos.end(), [](const CachedRepo& a, const CachedRepo& b) {
    return std::pair(a.type, a.id) < std::pair(b.type, b.id);
  });
  for (const CachedRepo& r : scan.repos) {
    scan.size += r.size;
    scan.reclaimable += r.reclaimable;
  }
  return scan;
}

}  // namespace hubload
