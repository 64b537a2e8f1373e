// Which node sends which blob to which nodes (pure: the same inputs give the
// same plan on every leader, so no plan is ever sent). Private to src/mpi.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace hubload::mpi_internal {

// One distinct blob of the snapshot (two paths with the same content share one).
struct Blob {
  std::string etag;  // the cache blob name: sha256 (LFS) or git blob sha1
  std::uint64_t size = 0;
  std::vector<std::string> paths;  // repo paths whose content it is
};

struct BlobTransfer {
  std::size_t blob = 0;        // index into the blob list
  int source = 0;              // node that sends it (and fetches it first when from_hub)
  bool from_hub = false;       // no node had it: the source fetches it from the Hub
  std::vector<int> receivers;  // nodes that lack it, the source excluded
};

// have[node][blob]: whether that node's cache holds the blob. A blob some node
// holds is sent by the holder with the fewest bytes to send so far; one no node
// holds is fetched by the node, among those that lack it, with the fewest Hub
// bytes so far (ties: the lowest node), so each node fetches about 1/N of the
// Hub bytes. Blobs every node holds are not in the plan.
std::vector<BlobTransfer> plan_blob_transfers(const std::vector<Blob>& blobs,
                                              const std::vector<std::vector<bool>>& have);

}  // namespace hubload::mpi_internal
