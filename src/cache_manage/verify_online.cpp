// verify --online: the cached file list and blob names against the Hub's
// listing of the same commit (hub-protocol.md §4: the blob name is lfs.oid for
// LFS files, else the git oid).
#include <map>

#include "cache_manage/select.h"
#include "hubload/cache_manage.h"

namespace hubload {

Result<std::vector<OnlineDifference>> verify_online(const CacheScan& scan, const VerifyOptions& options,
                                                   const HubOptions& hub) {
  HUBLOAD_ASSIGN_OR_RETURN(auto selected, cache_manage_internal::select_revisions(scan, options.repo, options.revision));
  std::vector<OnlineDifference> out;
  for (const auto& [repo, rev] : selected) {
    HubOptions at = hub;
    at.revision = rev->commit;
    at.repo_type = repo->type;
    OnlineDifference d;
    d.repo = repo->display_id();
    d.commit = rev->commit;
    Result<RepoInfo> info = fetch_repo_info(repo->id, at);
    if (!info) {
      d.error = std::move(info).error();
      out.push_back(std::move(d));
      continue;
    }
    std::map<std::string, std::string> listed;  // path -> blob name
    for (const RepoFileInfo& f : info->files) listed[f.path] = f.lfs_sha256.value_or(f.blob_id);
    std::map<std::string, const CachedFile*> cached;
    for (const CachedFile& f : rev->files) cached[f.path] = &f;
    for (const auto& [path, name] : listed) {
      auto it = cached.find(path);
      if (it == cached.end()) {
        d.missing.push_back(path);
      } else if (!it->second->blob.empty() && it->second->blob != name) {
        d.changed.push_back({path, it->second->blob, name});
      }
    }
    for (const auto& [path, file] : cached) {
      if (!listed.count(path)) d.extra.push_back(path);
    }
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace hubload
