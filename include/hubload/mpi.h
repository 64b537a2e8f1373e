// The distributed mode, for jobs started by mpirun (or engines already running
// under MPI): one Hub download per job, and each rank loading its own share.
//
// Built only with -DHUBLOAD_MPI=ON, into its own library (hubload_mpi), so that
// the other libraries never link MPI. Every function here is collective over
// the communicator it is given: every rank of it must call it with the same
// request. hubload calls MPI_Init only through MpiSession, and never when the
// host program has already initialised MPI.
//
// Errors: a failure on any rank (a 404, a gated repo, an integrity error, a
// disk error) is returned by every rank, with the same kind, and a message that
// names the rank and host where it happened. The ranks agree on a status after
// each phase, and every wait polls with a bound, so no rank waits for ever on
// a rank that failed.
#pragma once
#pragma GCC visibility push(default)  // public API: exported by the shared libraries (see CMake)

#include <mpi.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

#include "hubload/error.h"
#include "hubload/hub.h"
#include "hubload/load.h"
#include "hubload/plan.h"

namespace hubload {

// MPI for the life of this object: MPI_Init_thread (funneled: only the calling
// thread makes MPI calls) unless MPI is already initialised, and MPI_Finalize at
// the end only if it initialised it.
class MpiSession {
 public:
  static Result<MpiSession> start(int* argc, char*** argv);
  MpiSession(MpiSession&& other) noexcept : owns_(other.owns_) { other.owns_ = false; }
  MpiSession& operator=(MpiSession&&) = delete;
  ~MpiSession();
  bool owns() const { return owns_; }  // false: the host program initialised MPI

 private:
  explicit MpiSession(bool owns) : owns_(owns) {}
  bool owns_ = false;
};

// The whole job's bytes so far, against what its plan moves.
struct JobProgress {
  std::uint64_t hub_bytes = 0, hub_total = 0;        // fetched from the Hub, by all nodes
  std::uint64_t fabric_bytes = 0, fabric_total = 0;  // received from other nodes, by all nodes
};

struct DistributedOptions {
  MPI_Comm comm = MPI_COMM_WORLD;
  // The node this rank belongs to: ranks with the same id share one cache and
  // one node leader. Unset: the ranks that share memory
  // (MPI_COMM_TYPE_SHARED). The CLI sets it from HUBLOAD_NODE_ID; it must be
  // set on every rank or on none.
  std::optional<int> node_id;
  // Bytes per message between nodes: a blob travels as a pipeline of these,
  // each written and hashed by its receivers as it arrives. At most 1 GiB (MPI
  // counts are int).
  std::uint64_t chunk_size = 8ull << 20;
  // Messages in flight per blob and receiver.
  int window = 4;
  // How long a waiting rank sleeps between polls (MPI's own waits spin, which
  // would take the CPU from the ranks doing the work on an oversubscribed node).
  std::chrono::microseconds poll_interval{500};
  // download_model_distributed's progress over every node, on rank 0 only, on
  // its calling thread: about 5 times a second, and once at the end of the
  // transfers. (HubOptions::on_progress still reports each node's own files.)
  std::function<void(const JobProgress&)> on_progress;
};

struct DistributedStats {
  int rank = 0, world = 1;  // in the communicator
  int node = 0, nodes = 1;  // this rank's node (0-based, in order of lowest rank), and how many
  std::uint64_t hub_bytes = 0;     // blob bytes fetched from the Hub, over the whole job
  std::uint64_t fabric_bytes = 0;  // blob bytes sent between nodes, over the whole job
  // Of those, the bytes a node sent while its Hub download of the blob still
  // ran (the rest followed the download, or came from a cache).
  std::uint64_t streamed_bytes = 0;
  // Blob bytes not sent because a receiver's partial from an earlier run (a
  // job that stopped short) already held them.
  std::uint64_t fabric_resumed = 0;
  std::size_t blobs_from_hub = 0;  // over the whole job
  std::size_t blobs_moved = 0;     // blob copies received by some node, over the whole job
};

struct DistributedDownload {
  DownloadResult result;  // this node's snapshot (each node has its own cache)
  DistributedStats stats;
};

// download_model over a communicator. Rank 0 resolves the revision to one
// commit and the file list with one listing; each node's leader (its lowest
// rank) then finds which blobs its cache lacks. A blob some node holds is sent
// from there; one that no node holds is fetched from the Hub once, by one of
// the nodes that lack it (the Hub bytes balanced over them), with the transfer
// engine, and sent on to the other nodes that lack it while it downloads: each
// chunk as soon as the engine has written it, so no node waits for a whole
// file. Should the download begin again from byte 0 (a hash mismatch), so does
// the blob between nodes; should it fail, the receivers publish nothing. A
// receiver's partial outlives a job that stops short, and a rerun asks only
// for the chunks it lacks (the ones it holds are hashed again). Receivers write a partial
// blob, check its hash, then publish it and link the snapshot through the cache
// component, as a single-node download does. Offline (local_files_only or
// HF_HUB_OFFLINE), each node answers from its own cache and no rank opens a
// connection. A local folder is returned as is on every rank.
Result<DistributedDownload> download_model_distributed(std::string_view model, const DownloadOptions& options,
                                                       const DistributedOptions& mpi);

// The tensor-parallel rank this rank loads in a world of tp × replicas:
// rank % tp. invalid_input when the communicator's size is not a multiple of tp.
Result<int> distributed_tp_rank(int tp, const DistributedOptions& mpi);

// Rank r of the communicator loads TP rank r % plan.world_size from `root`
// (every rank reads its own byte runs, as RankLoader does); the ranks agree on
// the outcome, so a failure on one is returned by all.
Result<LoadedRank> load_rank_distributed(const std::filesystem::path& root, const ShardPlan& plan,
                                         const LoadOptions& options, const DistributedOptions& mpi);

// The same result, bit for bit, with one reader per node, for nodes with the
// checkpoint and without it. `root` is the checkpoint folder on this rank's
// node, or why the node has none (the model is not in its cache); the node
// leader's counts for the whole node. The lowest node that has it reads the
// plan's inputs (config.json and the shard headers, small) and every rank
// plans from those bytes with `plan`. Then, file by file, each node that has
// the files has its leader read the file once, front to back, into a
// shared-memory window (MPI_Win_allocate_shared over the node), and every rank
// of the node copies its runs out of it; the ranks of nodes without the files
// receive their runs as messages (at most 64 MiB each, mpi.chunk_size if
// smaller) from the ranks of the nodes that read, the sending spread over
// them. Only leaders open a file. One window per node, as large as the largest
// file, holds one file at a time.
// options.convert_to applies as in RankLoader; its I/O settings do not. When no
// node has the checkpoint, every rank returns the same error (rank 0's reason).
Result<LoadedRank> load_rank_scattered(const Result<std::filesystem::path>& root, const PlanOptions& plan,
                                       const LoadOptions& options, const DistributedOptions& mpi);

}  // namespace hubload
#pragma GCC visibility pop
