// verify_cache: every selected blob hashed once against its own name, on a
// pool of threads; --fix moves corrupt ones aside.
#include <fcntl.h>

#include <atomic>
#include <chrono>
#include <map>
#include <thread>

#include <fmt/format.h>

#include "cache_manage/select.h"
#include "hubload/cache_manage.h"
#include "util/digest.h"

namespace hubload {
namespace fs = std::filesystem;
namespace {

struct Work {
  BlobProblem item;  // filled in as a problem only if the hash disagrees or the read fails
  const CachedRepo* repo = nullptr;
  std::uint64_t size = 0;
  bool bad = false;
};

Result<std::string> hash_blob(const fs::path& path, bool git) {
  HUBLOAD_ASSIGN_OR_RETURN(ReadFile file, ReadFile::open(path.string()));
  ::posix_fadvise(file.fd(), 0, 0, POSIX_FADV_SEQUENTIAL);  // doubles kernel read-ahead for one pass
  HUBLOAD_ASSIGN_OR_RETURN(util_internal::Digest digest, git ? util_internal::Digest::start_git_blob(file.size())
                                                    : util_internal::Digest::start(util_internal::DigestAlgo::sha256));
  HUBLOAD_TRY(digest.update_from(file));
  return digest.finish_hex();
}

void check(Work& w) {
  auto actual = hash_blob(w.item.blob, w.item.algorithm == "git-sha1");
  if (!actual) {
    w.item.error = std::move(actual).error();
    w.bad = true;
  } else if (*actual != w.item.expected) {
    w.item.actual = std::move(*actual);
    w.bad = true;
  }
}

// <repo>/.quarantine/<blob name>[.N]: kept for inspection, invisible to downloads.
Status quarantine(BlobProblem& p, const CachedRepo& repo) {
  const fs::path dir = repo.dir / ".quarantine";
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return io_error(fmt::format("cannot create {}: {}", dir.string(), ec.message()));
  RepoCache cache(repo.dir.parent_path(), repo.id, repo.type);
  // A download that is publishing this blob right now holds its lock.
  HUBLOAD_ASSIGN_OR_RETURN(BlobLock lock, BlobLock::acquire(cache.lock_path(p.expected)));
  fs::path target = dir / p.blob.filename();
  for (int n = 1; fs::exists(target, ec); ++n) target = dir / fmt::format("{}.{}", p.blob.filename().string(), n);
  fs::rename(p.blob, target, ec);
  if (ec) return io_error(fmt::format("cannot move {} to {}: {}", p.blob.string(), target.string(), ec.message()));
  p.quarantined_to = target;
  return ok();
}

}  // namespace

Result<VerifyReport> verify_cache(const CacheScan& scan, const VerifyOptions& options) {
  HUBLOAD_ASSIGN_OR_RETURN(auto selected, cache_manage_internal::select_revisions(scan, options.repo, options.revision));
  VerifyReport report;
  std::map<fs::path, Work> by_blob;  // each blob once, however many snapshots link to it
  for (const auto& [repo, rev] : selected) {
    for (const std::string& path : rev->dangling) {
      report.missing.push_back(fmt::format("{} {}/{}", repo->display_id(), rev->commit, path));
    }
    for (const CachedFile& f : rev->files) {
      ++report.files;
      const std::string where = fmt::format("{}/{}", rev->commit, f.path);
      const bool hex = util_internal::is_lower_hex(f.blob);
      if (!hex || (f.blob.size() != 40 && f.blob.size() != 64)) {
        report.warnings.push_back(fmt::format("{}: {} is not named by a content hash, not verified",
                                              repo->display_id(), where));
        continue;
      }
      Work& w = by_blob[f.blob_path];
      if (!w.repo) {
        w.repo = repo;
        w.size = f.size;
        w.item.repo = repo->display_id();
        w.item.blob = f.blob_path;
        w.item.expected = f.blob;
        w.item.algorithm = f.blob.size() == 64 ? "sha256" : "git-sha1";
      }
      w.item.files.push_back(where);
    }
  }
  std::vector<Work*> work;
  for (auto& [path, w] : by_blob) work.push_back(&w);

  const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
  const std::size_t threads =
      std::min<std::size_t>(options.threads > 0 ? static_cast<std::size_t>(options.threads) : hw, work.size());
  std::atomic<std::size_t> next{0};
  const auto start = std::chrono::steady_clock::now();
  {
    std::vector<std::jthread> pool;
    for (std::size_t t = 0; t < threads; ++t) {
      pool.emplace_back([&] {
        for (std::size_t i = next++; i < work.size(); i = next++) check(*work[i]);
      });
    }
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (Work* w : work) {
    report.blobs += 1;
    if (!w->item.error) report.bytes += w->size;
    if (!w->bad) continue;
    if (w->item.error) {
      report.unreadable.push_back(std::move(w->item));
      continue;
    }
    if (options.fix) {
      if (auto st = quarantine(w->item, *w->repo); !st) report.warnings.push_back(st.error().message());
    }
    report.mismatches.push_back(std::move(w->item));
  }
  return report;
}

}  // namespace hubload
