// `mpirun --oversubscribe -np 4 hubload ...` as 2 nodes × 2 ranks on this one
// machine: HUBLOAD_NODE_ID = rank / 2, and each node its own cache
// (<dir>/node<n>). Open MPI is held to loopback and shared memory, allowed to
// run as root (CI does), and the whole job is bounded by a timeout. Each rank's
// exit code is written to <dir>/rc<rank>, and the rank's shell exits 0 unless
// hubload died of a signal: mpirun kills the whole job as soon as one process
// exits non-zero, and the test wants to see every rank's own code.
#pragma once

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "support/test_support.h"

namespace hubload::testing {

struct MpiJobResult {
  int exit_code = -1;            // mpirun's: non-zero only when a rank died of a signal
  std::vector<int> rank_codes;   // each rank's, -1 where the rank wrote none (killed)
  std::string out;               // stdout of every rank (only rank 0 prints on success)
  std::string err;
};

struct MpiJobOptions {
  std::string env;  // before mpirun, e.g. "HF_HUB_OFFLINE=1"
  int ranks = 4;
  int ranks_per_node = 2;
  int kill_rank = -1;         // this rank's hubload is killed (SIGKILL) ...
  double kill_after_s = 0;    // ... this long after it started
  std::string program;        // run instead of the hubload CLI
};

// `args` is passed to `hubload` (or o.program) unquoted: no single quotes in it.
inline MpiJobResult run_mpi_job(const std::filesystem::path& dir, const std::string& args,
                                const MpiJobOptions& o = {}) {
  for (int r = 0; r < o.ranks; ++r) std::filesystem::remove(dir / ("rc" + std::to_string(r)));
  const std::string hubload = (o.program.empty() ? cli_path().string() : o.program) + " " + args;
  const std::string script = fmt::format(
      "n=$((OMPI_COMM_WORLD_RANK/{})); export HUBLOAD_NODE_ID=$n HF_HUB_CACHE={}/node$n; "
      "if [ $OMPI_COMM_WORLD_RANK = {} ]; then {} & p=$!; sleep {}; kill -9 $p; wait $p; rc=$?; "
      "else {}; rc=$?; fi; echo $rc > {}/rc$OMPI_COMM_WORLD_RANK; if [ $rc -ge 128 ]; then exit $rc; fi",
      o.ranks_per_node, dir.string(), o.kill_rank, hubload, o.kill_after_s, hubload, dir.string());
  const std::string command = fmt::format(
      "env -u HF_TOKEN -u HF_HUB_OFFLINE -u HF_HUB_CACHE OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 "
      "OMPI_MCA_btl_vader_single_copy_mechanism=none HF_HOME={}/home {} "
      "timeout -s KILL 120 mpirun --oversubscribe -np {} --mca btl self,vader,tcp --mca btl_tcp_if_include lo "
      "--mca oob_tcp_if_include lo sh -c '{}' 2>{}/mpi-err",
      dir.string(), o.env, o.ranks, script, dir.string());
  CommandResult run = run_command(command);
  MpiJobResult result;
  result.exit_code = run.exit_code;
  result.out = run.out;
  result.err = read_file(dir / "mpi-err");
  for (int r = 0; r < o.ranks; ++r) {
    std::ifstream in(dir / ("rc" + std::to_string(r)));
    int code = -1;
    if (!(in >> code)) code = -1;
    result.rank_codes.push_back(code);
  }
  return result;
}

}  // namespace hubload::testing
