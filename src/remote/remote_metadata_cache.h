// Where remote safetensors headers are kept, so that asking again for the same
// commit makes no request:
//
//   <cache>/models--org--name/.hubload/safetensors/<commit>.json
//   <cache>/models--org--name/.hubload/refs/<revision>      (40 hex, no newline)
//
// Why there: huggingface_hub's scan_cache_dir (hub-protocol.md §10.11) looks
// only at blobs/, refs/ and snapshots/ inside a repo folder and ignores any
// other entry (as it ignores .no_exist/ and trees/), while anything new at the
// cache root, or a ref without a snapshot folder, would make it report a corrupt
// cache. So the revision -> commit map lives in our own refs, not in refs/, and
// nothing is added at the root; deleting the repo folder deletes these too.
// A file that is unreadable, of another format_version, or whose headers no
// longer validate is ignored and fetched again. Private to src/remote.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "hubload/cache.h"
#include "hubload/safetensors.h"

namespace hubload::remote_internal {

struct CachedShard {
  std::string file;         // repo path
  std::uint64_t size = 0;   // the whole file's size, as the server reported it
  std::string header_json;  // the header's N bytes
};

struct CachedMetadata {
  std::string commit;
  std::optional<std::string> index_file;  // repo path of the index
  std::optional<std::string> index_json;  // its content
  std::vector<CachedShard> shards;
};

class RemoteMetadataCache {
 public:
  explicit RemoteMetadataCache(const RepoCache& cache) : cache_(cache) {}

  std::filesystem::path metadata_path(std::string_view commit) const;
  std::filesystem::path ref_path(std::string_view revision) const;

  // nullopt when absent or unusable (see above).
  std::optional<std::string> read_ref(std::string_view revision) const;
  std::optional<CachedMetadata> load(std::string_view commit) const;

  // Also creates blobs/, refs/ and snapshots/ so the repo folder stays one
  // scan_cache_dir accepts. A branch or tag revision records its commit.
  Status store(const CachedMetadata& metadata, std::string_view revision) const;

 private:
  std::filesystem::path private_dir() const;
  const RepoCache& cache_;
};

}  // namespace hubload::remote_internal
