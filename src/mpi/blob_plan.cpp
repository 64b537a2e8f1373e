#include "mpi/blob_plan.h"

#include <algorithm>
#include <numeric>

namespace hubload::mpi_internal {

std::vector<BlobTransfer> plan_blob_transfers(const std::vector<Blob>& blobs,
                                              const std::vector<std::vector<bool>>& have) {
  const int nodes = static_cast<int>(have.size());
  std::vector<std::uint64_t> hub_load(nodes, 0), send_load(nodes, 0);
  // Largest first: the greedy balance is closest to even that way.
  std::vector<std::size_t> order(blobs.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&blobs](std::size_t a, std::size_t b) { return blobs[a].size > blobs[b].size; });
  std::vector<BlobTransfer> plan;
  for (std::size_t b : order) {
    std::vector<int> holders, lacking;
    for (int n = 0; n < nodes; ++n) (have[n][b] ? holders : lacking).push_back(n);
    if (lacking.empty()) continue;
    BlobTransfer t;
    t.blob = b;
    if (!holders.empty()) {
      t.source = *std::min_element(holders.begin(), holders.end(),
                                   [&send_load](int x, int y) { return send_load[x] < send_load[y]; });
      t.receivers = lacking;
    } else {
      t.from_hub = true;
      t.source = *std::min_element(lacking.begin(), lacking.end(),
                                   [&hub_load](int x, int y) { return hub_load[x] < hub_load[y]; });
      hub_load[t.source] += blobs[b].size;
      std::copy_if(lacking.begin(), lacking.end(), std::back_inserter(t.receivers),
                   [&t](int n) { return n != t.source; });
    }
    send_load[t.source] += blobs[b].size * t.receivers.size();
    plan.push_back(std::move(t));
  }
  // Back to blob order: the order in which every leader walks the plan.
  std::sort(plan.begin(), plan.end(), [](const BlobTransfer& a, const BlobTransfer& b) { return a.blob < b.blob; });
  return plan;
}

}  // namespace hubload::mpi_internal
