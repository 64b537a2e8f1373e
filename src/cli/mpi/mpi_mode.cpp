// The mpirun mode: MPI for the length of one command, the node identity from
// HUBLOAD_NODE_ID (read here, at the edge), the library's collective calls.
#include "cli/mpi_mode.h"

#include <cstdlib>
#include <string>

#include <fmt/format.h>

#include "hubload/mpi.h"

namespace hubload::cli {
namespace {

Result<DistributedOptions> distributed_options() {
  DistributedOptions options;
  const char* node = std::getenv("HUBLOAD_NODE_ID");
  if (node && *node) {
    char* end = nullptr;
    const long id = std::strtol(node, &end, 10);
    // A bad value becomes -1, which every rank then reports the same way.
    options.node_id = *end == '\0' && id >= 0 && id <= 1'000'000 ? static_cast<int>(id) : -1;
  }
  if (const char* chunk = std::getenv("HUBLOAD_MPI_CHUNK_SIZE"); chunk && *chunk) {
    char* end = nullptr;
    const unsigned long long bytes = std::strtoull(chunk, &end, 10);
    // A bad value becomes 0, which the library rejects on every rank alike.
    options.chunk_size = *end == '\0' ? bytes : 0;
  }
  return options;
}

void fill_job(MpiJob& job) {
  MPI_Comm_rank(MPI_COMM_WORLD, &job.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &job.world);
  job.prints = job.rank == 0;
}

}  // namespace

bool under_mpirun() {
  return std::getenv("OMPI_COMM_WORLD_SIZE") != nullptr || std::getenv("PMIX_RANK") != nullptr ||
         std::getenv("PMI_RANK") != nullptr;
}

Result<DownloadResult> mpi_download(std::string_view model, const DownloadOptions& options, MpiJob& job) {
  HUBLOAD_ASSIGN_OR_RETURN(MpiSession session, MpiSession::start(nullptr, nullptr));
  HUBLOAD_ASSIGN_OR_RETURN(DistributedOptions mpi, distributed_options());
  fill_job(job);
  if (job.on_progress) {
    mpi.on_progress = [&job](const JobProgress& p) {
      job.on_progress({{"hub_bytes", p.hub_bytes},
                       {"hub_total", p.hub_total},
                       {"fabric_bytes", p.fabric_bytes},
                       {"fabric_total", p.fabric_total}});
    };
  }
  HUBLOAD_ASSIGN_OR_RETURN(DistributedDownload done, download_model_distributed(model, options, mpi));
  job.info = {{"ranks", done.stats.world},         {"nodes", done.stats.nodes},
              {"hub_bytes", done.stats.hub_bytes}, {"fabric_bytes", done.stats.fabric_bytes},
              {"streamed_bytes", done.stats.streamed_bytes}, {"fabric_resumed", done.stats.fabric_resumed},
              {"blobs_from_hub", done.stats.blobs_from_hub}, {"blobs_moved", done.stats.blobs_moved}};
  return std::move(done.result);
}

Result<LoadedRank> mpi_load(const std::string& folder, const ShardPlan& plan, const LoadOptions& options,
                            int& tp_rank, MpiJob& job) {
  HUBLOAD_ASSIGN_OR_RETURN(MpiSession session, MpiSession::start(nullptr, nullptr));
  HUBLOAD_ASSIGN_OR_RETURN(DistributedOptions mpi, distributed_options());
  fill_job(job);
  job.prints = true;
  HUBLOAD_ASSIGN_OR_RETURN(tp_rank, distributed_tp_rank(plan.world_size, mpi));
  return load_rank_distributed(folder, plan, options, mpi);
}

Result<LoadedRank> mpi_load_scattered(const Result<std::string>& folder, const PlanOptions& plan,
                                      const LoadOptions& options, int& tp_rank, MpiJob& job) {
  HUBLOAD_ASSIGN_OR_RETURN(MpiSession session, MpiSession::start(nullptr, nullptr));
  HUBLOAD_ASSIGN_OR_RETURN(DistributedOptions mpi, distributed_options());
  fill_job(job);
  job.prints = true;
  HUBLOAD_ASSIGN_OR_RETURN(tp_rank, distributed_tp_rank(plan.world_size, mpi));
  const Result<std::filesystem::path> root =
      folder ? Result<std::filesystem::path>(std::filesystem::path(*folder)) : Result<std::filesystem::path>(folder.error());
  return load_rank_scattered(root, plan, options, mpi);
}

}  // namespace hubload::cli
