// The CLI's mpirun mode: `mpirun -np N hubload download|load ...`. Built from
// src/cli/mpi/ with -DHUBLOAD_MPI=ON; without it, src/cli/no_mpi/ says that no
// process runs under mpirun, and every rank runs as a plain hubload would.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "hubload/hub.h"
#include "hubload/load.h"
#include "hubload/plan.h"

namespace hubload::cli {

// Whether mpirun (Open MPI, or a PMIx/PMI launcher such as srun) started this
// process and the CLI has the MPI mode. Read from the launcher's environment.
bool under_mpirun();

struct MpiJob {
  int rank = 0, world = 1;
  bool prints = true;   // rank 0 prints a download's result; the others only errors
  nlohmann::json info;  // the job as a whole (nodes, Hub bytes, fabric bytes), for --json
  // The whole job's bytes so far ({hub_bytes, hub_total, fabric_bytes,
  // fabric_total}), on rank 0 only; set by the caller before mpi_download.
  std::function<void(const nlohmann::json&)> on_progress;
};

// download_model_distributed over the world, nodes from HUBLOAD_NODE_ID or
// shared memory. Every rank gets the same error.
Result<DownloadResult> mpi_download(std::string_view model, const DownloadOptions& options, MpiJob& job);

// Rank r of the world loads TP rank r % plan.world_size, reading its own runs;
// `tp_rank` is set to it.
Result<LoadedRank> mpi_load(const std::string& folder, const ShardPlan& plan, const LoadOptions& options,
                            int& tp_rank, MpiJob& job);

// The same with one reader per node (--scatter): `folder` is the model on this
// node, or why it is not there; nodes without it get their runs by message.
Result<LoadedRank> mpi_load_scattered(const Result<std::string>& folder, const PlanOptions& plan,
                                      const LoadOptions& options, int& tp_rank, MpiJob& job);

}  // namespace hubload::cli
