// A repo folder of a huggingface_hub cache (hub-protocol.md §10): refs/<rev>
// hold commits, snapshots/<commit>/ hold the files as symlinks to blobs/<etag>.
// The blob name tells the file kind: 64 hex = LFS (sha256), 40 hex = git sha1.
#include <algorithm>
#include <map>
#include <mutex>
#include <system_error>

#include "hubload/file.h"
#include "serve/repo_source.h"

namespace hubload::serve {
namespace {

namespace fs = std::filesystem;

bool safe_relative(std::string_view rel) {
  if (rel.empty() || rel.front() == '/') return false;
  std::size_t start = 0;
  while (start <= rel.size()) {
    std::size_t end = rel.find('/', start);
    if (end == std::string_view::npos) end = rel.size();
    std::string_view seg = rel.substr(start, end - start);
    if (seg.empty() || seg == "." || seg == "..") return false;
    start = end + 1;
  }
  return rel.find('\0') == std::string_view::npos;
}

class CacheRepo final : public RepoSource {
 public:
  CacheRepo(fs::path dir, std::uint64_t threshold) : dir_(std::move(dir)), threshold_(threshold) {}

  Result<std::string> resolve(std::string_view revision) override {
    std::error_code ec;
    if (is_hex(revision, 40) && fs::is_directory(dir_ / "snapshots" / std::string(revision), ec)) {
      return std::string(revision);
    }
    if (!safe_relative(revision)) return not_found("revision '" + std::string(revision) + "'");
    auto content = read_text_file((dir_ / "refs" / std::string(revision)).string());
    // Refs are read verbatim (no trimming), like the Python client does.
    if (!content || !is_hex(*content, 40) || !fs::is_directory(dir_ / "snapshots" / *content, ec)) {
      return not_found("revision '" + std::string(revision) + "'");
    }
    return *content;
  }

  Result<FileList> files(const std::string& commit) override {
    {
      std::lock_guard lock(mu_);
      auto it = listings_.find(commit);
      if (it != listings_.end()) return it->second;
    }
    fs::path root = dir_ / "snapshots" / commit;
    std::error_code ec;
    auto out = std::make_shared<std::vector<RepoFile>>();
    fs::recursive_directory_iterator it(root, ec), end;
    if (ec) return errno_error(root.string(), ec.value());
    for (; it != end; it.increment(ec)) {
      if (ec) return errno_error(root.string(), ec.value());
      const fs::directory_entry& e = *it;
      if (!e.is_regular_file(ec)) continue;  // follows the symlink; broken links are skipped
      RepoFile f;
      f.path = e.path().lexically_relative(root).generic_string();
      f.disk = e.path();
      f.size = e.file_size(ec);
      if (ec) return errno_error(e.path().string(), ec.value());
      std::string blob = e.is_symlink(ec) ? fs::read_symlink(e.path(), ec).filename().string() : "";
      if (is_hex(blob, 64)) {
        f.lfs = true;
        f.sha256 = blob;
      } else if (is_hex(blob, 40)) {
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
    fs::path root = dir_ / "refs";
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
  const fs::path dir_;
  const std::uint64_t threshold_;
  std::mutex mu_;
  std::map<std::string, FileList> listings_;  // guarded by mu_
};

}  // namespace

std::unique_ptr<RepoSource> make_cache_repo(std::filesystem::path repo_dir, std::uint64_t lfs_threshold) {
  return std::make_unique<CacheRepo>(std::move(repo_dir), lfs_threshold);
}

}  // namespace hubload::serve
