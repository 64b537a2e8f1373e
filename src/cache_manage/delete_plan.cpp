// delete_revisions and prune_cache: pure planning over a scan, so that the CLI
// can show the plan (and ask) before execute_delete touches anything.
#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

#include "cache_manage/select.h"
#include "hubload/cache_manage.h"

namespace hubload {
namespace fs = std::filesystem;
namespace {

// `going` revisions of `repo` go; with `sweep`, also its orphan blobs and
// stale partials. Blobs a remaining revision links to stay.
DeletePlan::RepoPart plan_repo(const CachedRepo& repo, const std::set<std::string>& going, bool sweep) {
  DeletePlan::RepoPart part;
  part.repo = repo.display_id();
  part.dir = repo.dir;
  part.locks_dir = repo.dir.parent_path() / ".locks" / repo.dir.filename();
  std::set<std::string> kept;
  for (const CachedRevision& rev : repo.revisions) {
    if (going.count(rev.commit)) continue;
    for (const CachedFile& f : rev.files) kept.insert(f.blob);
  }
  std::set<std::string> blobs;
  for (const CachedRevision& rev : repo.revisions) {
    if (!going.count(rev.commit)) continue;
    part.commits.push_back(rev.commit);
    part.snapshots.push_back(rev.snapshot);
    for (const fs::path& p : {repo.dir / ".no_exist" / rev.commit, repo.dir / "trees" / (rev.commit + ".json")}) {
      std::error_code ec;
      if (fs::exists(p, ec)) part.metadata.push_back(p);
    }
    for (const CachedFile& f : rev.files) {
      if (f.blob.empty()) {
        part.freed += f.size;  // a real file in the snapshot (no symlinks) goes with it
      } else if (!kept.count(f.blob) && blobs.insert(f.blob).second) {
        part.freed += f.size;
      }
    }
  }
  for (const auto& [ref, commit] : repo.refs) {
    if (going.count(commit)) part.refs.push_back(repo.dir / "refs" / ref);
  }
  if (sweep) {
    for (const fs::path& orphan : repo.orphan_blobs) {
      std::error_code ec;
      const auto size = fs::file_size(orphan, ec);
      if (blobs.insert(orphan.filename().string()).second) part.freed += ec ? 0 : size;
    }
    for (const CachedPartial& p : repo.partials) {
      if (!p.stale) continue;
      part.partials.push_back(p);
      part.freed += p.size;
    }
  }
  part.blobs.assign(blobs.begin(), blobs.end());
  return part;
}

void add(DeletePlan& plan, DeletePlan::RepoPart part) {
  if (part.commits.empty() && part.blobs.empty() && part.partials.empty()) return;
  plan.freed += part.freed;
  plan.repos.push_back(std::move(part));
}

}  // namespace

Result<DeletePlan> delete_revisions(const CacheScan& scan, const std::vector<std::string>& targets) {
  std::map<const CachedRepo*, std::set<std::string>> going;
  std::set<const CachedRepo*> whole;
  for (const std::string& target : targets) {
    if (const CachedRepo* repo = cache_manage_internal::find_repo(scan, target)) {
      whole.insert(repo);
      for (const CachedRevision& rev : repo->revisions) going[repo].insert(rev.commit);
      continue;
    }
    std::vector<std::pair<const CachedRepo*, std::string>> hits;
    if (target.size() >= 7 && target.size() <= 40 && std::all_of(target.begin(), target.end(), [](char c) {
          return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
        })) {
      for (const CachedRepo& repo : scan.repos) {
        for (const CachedRevision& rev : repo.revisions) {
          if (rev.commit.compare(0, target.size(), target) == 0) hits.emplace_back(&repo, rev.commit);
        }
      }
    }
    if (hits.empty()) {
      return not_found(fmt::format("'{}' is neither a repo nor a revision in the cache {}", target, scan.root.string()));
    }
    if (hits.size() > 1) {
      return invalid_input(fmt::format("revision prefix '{}' matches {} revisions; give more characters", target,
                                       hits.size()));
    }
    going[hits[0].first].insert(hits[0].second);
  }
  DeletePlan plan;
  for (const CachedRepo& repo : scan.repos) {
    auto it = going.find(&repo);
    if (it == going.end()) continue;
    const bool all = it->second.size() == repo.revisions.size();
    // Removing every revision of a repo named as a target removes the repo
    // itself, unless a live download still writes into it.
    const bool live = std::any_of(repo.partials.begin(), repo.partials.end(), [](const auto& p) { return !p.stale; });
    DeletePlan::RepoPart part = plan_repo(repo, it->second, whole.count(&repo) > 0);
    part.whole_repo = whole.count(&repo) > 0 && all && !live;
    if (part.whole_repo) {
      for (const auto& [ref, commit] : repo.refs) {
        const fs::path p = repo.dir / "refs" / ref;
        if (std::find(part.refs.begin(), part.refs.end(), p) == part.refs.end()) part.refs.push_back(p);
      }
    }
    plan.freed += part.freed;
    plan.repos.push_back(std::move(part));
  }
  return plan;
}

DeletePlan prune_cache(const CacheScan& scan) {
  DeletePlan plan;
  for (const CachedRepo& repo : scan.repos) {
    std::set<std::string> detached;
    for (const CachedRevision& rev : repo.revisions) {
      if (rev.detached()) detached.insert(rev.commit);
    }
    add(plan, plan_repo(repo, detached, true));
  }
  return plan;
}

}  // namespace hubload
