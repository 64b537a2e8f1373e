// The repo's file list, online (repo info / tree API) or from a cached snapshot.
#pragma once

#include <string>
#include <vector>

#include "hub/hub_context.h"

namespace hubload::hub_internal {

Result<RepoInfo> repo_info(const HubContext& ctx, std::string_view revision);

// The `rel="next"` URL of a tree page's Link header
// (`<https://…?cursor=…>; rel="next"`), or empty.
std::string next_link(const HttpHeaders& headers);

// Repo paths of the files (or links to files) under snapshots/<commit>.
std::vector<std::string> list_snapshot(const std::filesystem::path& snapshot_dir);

}  // namespace hubload::hub_internal
