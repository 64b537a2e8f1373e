// Rank r of the communicator loads TP rank r % W, reading its own byte runs
// (a node-local cache or a shared file system); the ranks agree on the outcome.
#include <fmt/format.h>

#include "hubload/mpi.h"
#include "mpi/topology.h"

namespace hubload {

Result<int> distributed_tp_rank(int tp, const DistributedOptions& mpi) {
  int rank = 0, size = 1;
  MPI_Comm_rank(mpi.comm, &rank);
  MPI_Comm_size(mpi.comm, &size);
  if (tp < 1 || size % tp != 0) {
    return invalid_input(fmt::format("{} ranks cannot hold replicas of a tensor-parallel world of {}: the number of "
                                     "ranks must be a multiple of --tp",
                                     size, tp));
  }
  return rank % tp;
}

Result<LoadedRank> load_rank_distributed(const std::filesystem::path& root, const ShardPlan& plan,
                                         const LoadOptions& options, const DistributedOptions& mpi) {
  using namespace mpi_internal;
  HUBLOAD_ASSIGN_OR_RETURN(Topology t, make_topology(mpi));
  Result<int> tp_rank = distributed_tp_rank(plan.world_size, mpi);
  HUBLOAD_TRY(agree(t, tp_rank ? ok() : Status(tp_rank.error())));
  Result<LoadedRank> loaded = [&]() -> Result<LoadedRank> {
    HUBLOAD_ASSIGN_OR_RETURN(RankPlan rank, rank_plan(plan, *tp_rank));
    HUBLOAD_ASSIGN_OR_RETURN(RankLoader loader, RankLoader::create(root, options));
    return loader.load(rank);
  }();
  HUBLOAD_TRY(agree(t, loaded ? ok() : Status(loaded.error())));
  return loaded;
}

}  // namespace hubload
