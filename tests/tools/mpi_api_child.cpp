// A host program that runs MPI itself and calls hubload's MPI API on a
// communicator of its own (mpi_api_test.cpp): the world is split in two halves
// of 2 ranks, each half one download job of 2 nodes (node = rank in the half).
// Prints one JSON line per rank.
//   mpi_api_child ENDPOINT DIR REPO
#include <mpi.h>

#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include "hubload/mpi.h"

int main(int argc, char** argv) {
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  nlohmann::json line = {{"rank", rank}};
  {
    auto session = hubload::MpiSession::start(&argc, &argv);
    line["session_owns_mpi"] = session && session->owns();
  }
  MPI_Comm half = MPI_COMM_NULL;
  MPI_Comm_split(MPI_COMM_WORLD, rank / 2, rank, &half);
  hubload::DistributedOptions mpi;
  mpi.comm = half;
  mpi.node_id = rank % 2;
  mpi.chunk_size = 4096;  // many chunks per blob: the pipeline, not one message
  hubload::DownloadOptions options;
  options.hub.endpoint = argv[1];
  options.hub.cache_dir = std::string(argv[2]) + "/job" + std::to_string(rank / 2) + "/node" + std::to_string(rank % 2);
  options.hub.no_token = true;
  auto done = hubload::download_model_distributed(argv[3], options, mpi);
  line["ok"] = done.has_value();
  if (done) {
    line["snapshot"] = done->result.snapshot.string();
    line["hub_bytes"] = done->stats.hub_bytes;
    line["nodes"] = done->stats.nodes;
    line["world"] = done->stats.world;
  } else {
    line["error"] = done.error().to_string();
  }
  MPI_Comm_free(&half);
  std::printf("%s\n", line.dump().c_str());
  std::fflush(stdout);
  MPI_Finalize();
  return 0;
}
