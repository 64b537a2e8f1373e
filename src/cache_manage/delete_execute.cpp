// execute_delete: a plan applied under the blobs' locks, re-checking what links
// to each blob at the moment it goes (a download may have linked it meanwhile).
#include <set>

#include <fmt/format.h>

#include "hubload/cache_manage.h"
#include "transfer/blob_lock.h"

namespace hubload {
namespace fs = std::filesystem;
namespace {

// Blob names the snapshots of `repo_dir` link to right now.
std::set<std::string> linked_now(const fs::path& repo_dir) {
  std::set<std::string> names;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(repo_dir / "snapshots", ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_symlink(ec)) continue;
    names.insert(fs::read_symlink(it->path(), ec).filename().string());
  }
  return names;
}

void remove_one(const fs::path& p, DeleteOutcome& out) {
  std::error_code ec;
  fs::remove(p, ec);
  if (ec && ec != std::errc::no_such_file_or_directory) out.errors.push_back(fmt::format("{}: {}", p.string(), ec.message()));
}

std::uint64_t size_or_zero(const fs::path& p) {
  std::error_code ec;
  const auto n = fs::file_size(p, ec);
  return ec ? 0 : n;
}

void execute_part(const DeletePlan::RepoPart& part, DeleteOutcome& out) {
  // Every lock first, without waiting: a held one is a live download.
  std::vector<transfer::BlobLock> held;
  std::set<std::string> locked, busy;
  auto lock = [&](const std::string& etag) {
    if (locked.count(etag)) return true;
    if (busy.count(etag)) return false;
    auto l = transfer::BlobLock::try_acquire((part.locks_dir / (etag + ".lock")).string());
    if (l && *l) {
      held.push_back(std::move(**l));
      locked.insert(etag);
      return true;
    }
    busy.insert(etag);
    out.skipped.push_back(l ? fmt::format("{}: {} is locked by a live download, left in place", part.repo, etag)
                            : fmt::format("{}: {}: {}, left in place", part.repo, etag, l.error().message()));
    return false;
  };
  for (const std::string& blob : part.blobs) lock(blob);

  for (const fs::path& ref : part.refs) remove_one(ref, out);
  for (const fs::path& p : part.metadata) {
    std::error_code ec;
    fs::remove_all(p, ec);
    if (ec) out.errors.push_back(fmt::format("{}: {}", p.string(), ec.message()));
  }
  for (const fs::path& snapshot : part.snapshots) {
    std::error_code ec;
    fs::remove_all(snapshot, ec);
    if (ec) {
      out.errors.push_back(fmt::format("{}: {}", snapshot.string(), ec.message()));
    } else {
      ++out.revisions;
    }
  }
  const std::set<std::string> linked = linked_now(part.dir);
  for (const std::string& blob : part.blobs) {
    if (!locked.count(blob)) continue;
    if (linked.count(blob)) {
      out.skipped.push_back(fmt::format("{}: {} is linked by a snapshot now, left in place", part.repo, blob));
      continue;
    }
    const fs::path path = part.dir / "blobs" / blob;
    const auto size = size_or_zero(path);
    std::error_code ec;
    if (fs::remove(path, ec)) {
      ++out.blobs;
      out.freed += size;
    } else if (ec) {
      out.errors.push_back(fmt::format("{}: {}", path.string(), ec.message()));
    }
  }
  for (const CachedPartial& p : part.partials) {
    if (!lock(p.etag)) continue;
    std::uint64_t size = size_or_zero(p.data);
    remove_one(p.data, out);
    if (p.journal) {
      size += size_or_zero(*p.journal);
      remove_one(*p.journal, out);
    }
    ++out.partials;
    out.freed += size;
  }
  if (part.whole_repo && busy.empty()) {
    std::error_code ec;
    fs::remove_all(part.dir, ec);
    if (ec) out.errors.push_back(fmt::format("{}: {}", part.dir.string(), ec.message()));
  }
}

}  // namespace

DeleteOutcome execute_delete(const DeletePlan& plan) {
  DeleteOutcome out;
  for (const DeletePlan::RepoPart& part : plan.repos) execute_part(part, out);
  return out;
}

}  // namespace hubload
