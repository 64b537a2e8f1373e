// The files of one download whose size and content hash the repo listing
// already gave: no metadata HEAD each, and one transfer-engine call for all of
// them (one connection budget shared fairly, one session whose connections are
// kept alive from file to file). Private to src/hub.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "hub/file_metadata.h"
#include "hub/hub_context.h"

namespace hubload::hub_internal {

struct ListedFile {
  std::string path;
  FileMetadata meta;
};

// What the listing says of `file` at `commit`, where it names a size and a
// content hash that can name a blob (the LFS sha256, else the git blob id);
// nullopt otherwise (the file needs its HEAD).
std::optional<FileMetadata> listed_metadata(const HubContext& ctx, const std::string& commit,
                                            const RepoFileInfo& file);

// Fetches the blobs not yet in the cache, at most `max_files` at once (the
// download's --workers), and links every file into its snapshot. The first
// error wins; blobs already published stay.
Status fetch_listed(const HubContext& ctx, const std::vector<ListedFile>& files, int max_files);

}  // namespace hubload::hub_internal
