// load_rank_scattered: one reader per node. The lowest node that holds the
// checkpoint reads its plan inputs (config.json and the shard headers) and
// every rank plans from those same bytes. Then, file by file in one order,
// each node that holds the files has its leader read the file once, front to
// back, into an MPI shared-memory window (MPI_Win_allocate_shared over the
// node's ranks); every rank of the node copies its own byte runs out of it,
// and some of them send the ranks of nodes without the files their runs as
// messages (run_stream.h). No rank but a leader touches the files. One window
// serves every file in turn.
#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <map>
#include <set>

#include <fmt/format.h>

#include "hubload/file.h"
#include "hubload/mpi.h"
#include "mpi/run_stream.h"
#include "mpi/scatter_inputs.h"
#include "mpi/topology.h"

namespace hubload::mpi_internal {
namespace {

constexpr std::uint64_t kReadPiece = 64ull << 20;  // one pread of the leader's sequential read
constexpr std::uint64_t kMaxMessage = 64ull << 20;  // bytes per message to a node without the files
constexpr int kTagBound = 32768;                    // MPI_TAG_UB is at least 32767

void node_barrier(const Topology& t) {
  MPI_Request request;
  MPI_Ibarrier(t.node.get(), &request);
  wait_polling(&request, t.poll);
}

// The leader's status of one step, on every rank of the node.
Status node_status(const Topology& t, const Status& leader) {
  std::string message = leader ? std::string() : located(t, leader.error()).message();
  int kind = leader ? -1 : static_cast<int>(leader.error().kind());
  MPI_Request request;
  MPI_Ibcast(&kind, 1, MPI_INT, 0, t.node.get(), &request);
  wait_polling(&request, t.poll);
  if (kind < 0) return ok();
  broadcast_string(message, 0, t.node.get(), t.poll);
  return Error(static_cast<ErrorKind>(kind), std::move(message));
}

// A shared-memory window of the node (MPI_Win_allocate_shared), as large as
// the largest file, that holds one file after another: the leader reads each
// file into it, every rank of the node sees the bytes. One window for all the
// files, since every rank pays page faults for a new window's pages again.
class NodeWindow {
 public:
  // Collective over the node.
  static NodeWindow allocate(const Topology& t, std::uint64_t bytes) {
    NodeWindow w;
    std::byte* mine = nullptr;
    MPI_Win_allocate_shared(t.leader() ? static_cast<MPI_Aint>(bytes) : 0, 1, MPI_INFO_NULL, t.node.get(), &mine,
                            &w.window_);
    MPI_Aint size = 0;
    int unit = 1;
    MPI_Win_shared_query(w.window_, 0, &size, &unit, &w.base_);
    w.capacity_ = bytes;
    return w;
  }

  // The file at `path` (on the leader), read whole into the window; every rank
  // of the node returns the same outcome, errors naming the leader. Collective
  // over the node.
  Result<std::span<const std::byte>> read(const Topology& t, const std::filesystem::path& path,
                                          std::uint64_t expected_size, std::uint64_t& bytes_read) {
    Status filled = ok();
    if (t.leader()) {
      Result<ReadFile> file = ReadFile::open(path);
      if (!file) {
        filled = file.error();
      } else if (file->size() != expected_size || expected_size > capacity_) {
        // The plan's offsets come from the first node's copy: another copy must be the same file.
        filled = invalid_input(fmt::format("{} has {} bytes where the node that planned the load has {}",
                                           path.string(), file->size(), expected_size));
      }
      for (std::uint64_t at = 0; at < expected_size && filled; at += kReadPiece) {
        const std::uint64_t n = std::min<std::uint64_t>(kReadPiece, expected_size - at);
        filled = file->read_at(at, std::span(base_ + at, n));
      }
      if (filled) bytes_read += expected_size;
    }
    HUBLOAD_TRY(node_status(t, filled));  // also the barrier: the bytes are in place
    return std::span<const std::byte>(base_, expected_size);
  }

  NodeWindow(NodeWindow&& other) noexcept
      : window_(other.window_), base_(other.base_), capacity_(other.capacity_) {
    other.window_ = MPI_WIN_NULL;
  }
  NodeWindow& operator=(NodeWindow&&) = delete;
  ~NodeWindow() {
    if (window_ != MPI_WIN_NULL) MPI_Win_free(&window_);  // collective over the node
  }

 private:
  NodeWindow() = default;
  MPI_Win window_ = MPI_WIN_NULL;
  std::byte* base_ = nullptr;
  std::uint64_t capacity_ = 0;
};

// Which nodes read the files, and who sends the ranks of the others their runs.
struct JobMap {
  std::vector<std::vector<int>> ranks_of;  // node index -> its world ranks, ascending
  std::vector<int> readers;                // the nodes whose leader can open the checkpoint, ascending
  std::vector<bool> node_reads;            // node index -> whether it reads
  std::vector<int> sender;                 // world rank -> the rank that sends it its runs; -1 on a reader node
  bool any_remote() const { return std::any_of(sender.begin(), sender.end(), [](int s) { return s >= 0; }); }
};

// Collective over t.world. `reads`: the same on every rank of a node.
JobMap map_job(const Topology& t, bool reads) {
  const std::array<int, 2> mine{t.node_index, reads ? 1 : 0};
  std::vector<int> all(2 * static_cast<std::size_t>(t.size));
  MPI_Request request;
  MPI_Iallgather(mine.data(), 2, MPI_INT, all.data(), 2, MPI_INT, t.world, &request);
  wait_polling(&request, t.poll);
  JobMap job;
  job.ranks_of.resize(t.nodes);
  job.node_reads.resize(t.nodes);
  for (int r = 0; r < t.size; ++r) {
    job.ranks_of[all[2 * r]].push_back(r);
    job.node_reads[all[2 * r]] = all[2 * r + 1] != 0;
  }
  for (int n = 0; n < t.nodes; ++n) {
    if (job.node_reads[n]) job.readers.push_back(n);
  }
  // The i-th rank without the files is served by reader node i mod R, and within
  // it by one rank after another, so the sending is spread over every reader.
  job.sender.assign(t.size, -1);
  if (job.readers.empty()) return job;
  std::size_t i = 0;  // among the ranks without the files
  for (int r = 0; r < t.size; ++r) {
    if (job.node_reads[all[2 * r]]) continue;
    const std::vector<int>& ranks = job.ranks_of[job.readers[i % job.readers.size()]];
    job.sender[r] = ranks[(i / job.readers.size()) % ranks.size()];
    ++i;
  }
  return job;
}

// Checked before any byte moves, so that the transfers themselves cannot fail
// half way on one rank while another waits for its messages.
Status check_runs(const RankPlan& rank, const std::map<std::string, std::uint64_t>& file_sizes) {
  for (const RankTensor& tensor : rank.tensors) {
    const auto size = file_sizes.find(tensor.file);
    if (size == file_sizes.end()) return not_found(fmt::format("{}: its file {} is not in the checkpoint", tensor.name, tensor.file));
    for (const ByteRun& run : tensor.runs) {
      if (run.file_offset + run.length > size->second || run.dest_offset + run.length > tensor.bytes) {
        return invalid_input(fmt::format("{}: bytes {}+{} of {} lie outside the file ({} bytes)", tensor.name,
                                         run.file_offset, run.length, tensor.file, size->second));
      }
    }
  }
  return ok();
}

// A rank this one sends runs to: its plan, and where its tensors start.
struct Receiver {
  int world_rank = 0;
  RankPlan plan;
  ArenaLayout layout;
};

}  // namespace
}  // namespace hubload::mpi_internal

namespace hubload {

Result<LoadedRank> load_rank_scattered(const Result<std::filesystem::path>& root, const PlanOptions& plan_options,
                                       const LoadOptions& options, const DistributedOptions& mpi) {
  using namespace mpi_internal;
  const auto start = std::chrono::steady_clock::now();
  HUBLOAD_ASSIGN_OR_RETURN(Topology t, make_topology(mpi));
  Result<int> tp_rank = distributed_tp_rank(plan_options.world_size, mpi);
  Status usable = tp_rank ? ok() : Status(tp_rank.error());
  if (usable && mpi.chunk_size == 0) usable = invalid_input("the bytes per message between nodes must be at least 1");
  HUBLOAD_TRY(agree(t, usable));

  // The leader's view counts for its node: it alone would read the files.
  int reads = t.leader() && root ? 1 : 0;
  MPI_Request request;
  MPI_Ibcast(&reads, 1, MPI_INT, 0, t.node.get(), &request);
  wait_polling(&request, t.poll);
  const JobMap job = map_job(t, reads != 0);
  if (job.readers.empty()) {
    // Rank 0 leads node 0, which lacks the files like every other: its reason stands for all.
    Status none = ok();
    if (t.rank == 0) {
      none = Error(root.error().kind(), fmt::format("no node of the job has the checkpoint to read ({})",
                                                    located(t, root.error()).message()));
    }
    return agree(t, none, true).error();
  }

  // Every rank plans from the same inputs: those of the first node that reads.
  const int source = job.ranks_of[job.readers.front()].front();
  std::string inputs_text;
  Status read_inputs = ok();
  if (t.rank == source) {
    Result<ScatterInputs> read = read_scatter_inputs(*root);
    if (read) inputs_text = read->encode();
    else read_inputs = read.error();
  }
  HUBLOAD_TRY(agree(t, read_inputs));
  broadcast_string(inputs_text, source, t.world, t.poll);
  std::uint64_t message_bytes = std::min(mpi.chunk_size, kMaxMessage);
  MPI_Ibcast(&message_bytes, 1, MPI_UINT64_T, 0, t.world, &request);  // one size on both ends of a stream
  wait_polling(&request, t.poll);

  Result<ScatterInputs> inputs = ScatterInputs::decode(inputs_text);
  Result<ShardPlan> plan = inputs ? plan_from_inputs(*inputs, plan_options) : Result<ShardPlan>(inputs.error());
  HUBLOAD_TRY(agree(t, plan ? ok() : Status(plan.error())));
  Result<RankPlan> rank = rank_plan(*plan, *tp_rank);
  // Runs land in the checkpoint's dtypes first (RankLoader's layout, so the same
  // file/destination agreement); a conversion follows at the end.
  LoadOptions stored_options = options;
  stored_options.convert_to.reset();
  std::vector<Receiver> receivers;
  Status planned = rank ? check_runs(*rank, inputs->file_sizes) : Status(rank.error());
  if (planned) planned = check_conversion(*rank, options);
  for (int r = 0; r < t.size && planned; ++r) {
    if (job.sender[r] != t.rank) continue;
    Result<RankPlan> theirs = rank_plan(*plan, r % plan->world_size);
    planned = theirs ? check_runs(*theirs, inputs->file_sizes) : Status(theirs.error());
    if (planned) receivers.push_back({r, *theirs, arena_layout(*theirs, stored_options)});
  }
  HUBLOAD_TRY(agree(t, planned));

  const ArenaLayout stored = arena_layout(*rank, stored_options);
  Result<HostBuffer> storage = HostBuffer::allocate(stored.bytes);
  HUBLOAD_TRY(agree(t, storage ? ok() : Status(storage.error())));

  // Streams get a communicator of their own, so their tags meet no other message.
  OwnedComm streams;
  if (job.any_remote()) {
    MPI_Comm dup = MPI_COMM_NULL;
    MPI_Comm_dup(t.world, &dup);
    streams = OwnedComm(dup);
  }
  const StreamOptions stream_options{message_bytes, std::max(1, mpi.window), t.poll};
  const std::filesystem::path folder = t.leader() && root ? *root : std::filesystem::path();
  const bool node_reads = job.node_reads[t.node_index];

  LoadedRank out;
  out.rank = rank->rank;
  out.world_size = rank->world_size;
  // Every rank walks the same files (all ranks' plans), in one order.
  std::set<std::string> files;
  for (const TensorPlan& tensor : plan->tensors) files.insert(tensor.file);
  std::optional<NodeWindow> window;
  if (node_reads) {
    std::uint64_t largest = 0;
    for (const std::string& name : files) largest = std::max(largest, inputs->file_sizes.at(name));
    window.emplace(NodeWindow::allocate(t, largest));
  }
  int tag = 0;
  for (const std::string& name : files) {
    tag = (tag + 1) % kTagBound;
    Result<std::span<const std::byte>> bytes = std::span<const std::byte>();
    if (window) bytes = window->read(t, folder / name, inputs->file_sizes.at(name), out.bytes_read);
    // Before any message: a rank waiting for runs must learn that they will not come.
    HUBLOAD_TRY(agree(t, bytes ? ok() : Status(bytes.error()), true));
    if (window) {
      for (const StreamRun& run : runs_in_file(*rank, stored.offsets, name)) {
        std::copy_n(bytes->data() + run.file_offset, run.length, storage->data() + run.dest);
        ++out.read_calls;
      }
      for (const Receiver& receiver : receivers) {
        send_stream(*bytes, runs_in_file(receiver.plan, receiver.layout.offsets, name), receiver.world_rank, tag,
                    streams.get(), stream_options);
      }
      node_barrier(t);  // every rank has copied out before the next file overwrites the window
    } else {
      receive_stream(storage->data(), runs_in_file(*rank, stored.offsets, name), job.sender[t.rank], tag,
                     streams.get(), stream_options);
    }
  }

  const ArenaLayout loaded = arena_layout(*rank, options);
  if (options.convert_to) {
    Result<HostBuffer> converted = HostBuffer::allocate(loaded.bytes);
    Status done = converted ? ok() : Status(converted.error());
    for (std::size_t i = 0; i < rank->tensors.size() && done; ++i) {
      const RankTensor& tensor = rank->tensors[i];
      const DType to = loaded_dtype(tensor.dtype, options);
      const std::span<const std::byte> in(storage->data() + stored.offsets[i], tensor.bytes);
      const std::span<std::byte> into(converted->data() + loaded.offsets[i], loaded.sizes[i]);
      if (to == tensor.dtype) std::copy(in.begin(), in.end(), into.begin());
      else done = convert_floats(tensor.dtype, to, in, into);
    }
    HUBLOAD_TRY(agree(t, done));
    storage = std::move(converted);
  }
  out.storage = std::move(*storage);
  for (std::size_t i = 0; i < rank->tensors.size(); ++i) {
    const RankTensor& tensor = rank->tensors[i];
    const DType to = loaded_dtype(tensor.dtype, options);
    out.tensors.push_back({tensor.name, to, tensor.shape,
                           std::span(out.storage.data() + loaded.offsets[i], loaded.sizes[i])});
  }
  out.bytes_planned = rank->bytes_to_read();
  out.bytes_out = loaded.bytes_out;
  out.reindex();
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return out;
}

}  // namespace hubload
