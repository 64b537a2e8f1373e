// load_rank_scattered: one reader per node. The node leader reads each file of
// the checkpoint once, front to back, into an MPI shared-memory window
// (MPI_Win_allocate_shared over the node's ranks); every rank of the node then
// copies its own byte runs out of the window. No rank but the leader touches
// the files.
#include <algorithm>
#include <chrono>
#include <set>

#include <fmt/format.h>

#include "hubload/file.h"
#include "hubload/mpi.h"
#include "mpi/topology.h"

namespace hubload::mpi_internal {
namespace {

constexpr std::uint64_t kTensorAlignment = 256;        // as RankLoader lays tensors out
constexpr std::uint64_t kReadPiece = 64ull << 20;      // one pread of the leader's sequential read

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

// One file in a window of the node: the leader's bytes, seen by every rank.
class SharedFile {
 public:
  static Result<SharedFile> read(const Topology& t, const std::filesystem::path& path, std::uint64_t& bytes_read) {
    std::optional<ReadFile> file;
    Status opened = ok();
    unsigned long long size = 0;
    if (t.leader()) {
      Result<ReadFile> f = ReadFile::open(path);
      if (f) {
        size = f->size();
        file.emplace(std::move(*f));
      } else {
        opened = f.error();
      }
    }
    HUBLOAD_TRY(node_status(t, opened));
    MPI_Request request;
    MPI_Ibcast(&size, 1, MPI_UNSIGNED_LONG_LONG, 0, t.node.get(), &request);
    wait_polling(&request, t.poll);
    SharedFile shared;
    std::byte* mine = nullptr;
    MPI_Win_allocate_shared(t.leader() ? static_cast<MPI_Aint>(size) : 0, 1, MPI_INFO_NULL, t.node.get(), &mine,
                            &shared.window_);
    MPI_Aint got = 0;
    int unit = 1;
    MPI_Win_shared_query(shared.window_, 0, &got, &unit, &shared.base_);
    shared.size_ = size;
    Status filled = ok();
    if (t.leader()) {
      for (std::uint64_t at = 0; at < size && filled; at += kReadPiece) {
        const std::uint64_t n = std::min<std::uint64_t>(kReadPiece, size - at);
        filled = file->read_at(at, std::span(shared.base_ + at, n));
      }
      bytes_read += size;
    }
    HUBLOAD_TRY(node_status(t, filled));  // also the barrier: the bytes are in place
    return shared;
  }

  SharedFile(SharedFile&& other) noexcept : window_(other.window_), base_(other.base_), size_(other.size_) {
    other.window_ = MPI_WIN_NULL;
  }
  SharedFile& operator=(SharedFile&&) = delete;
  ~SharedFile() {
    if (window_ != MPI_WIN_NULL) MPI_Win_free(&window_);  // collective over the node
  }
  std::span<const std::byte> bytes() const { return {base_, size_}; }

 private:
  SharedFile() = default;
  MPI_Win window_ = MPI_WIN_NULL;
  std::byte* base_ = nullptr;
  std::uint64_t size_ = 0;
};

}  // namespace
}  // namespace hubload::mpi_internal

namespace hubload {

Result<LoadedRank> load_rank_scattered(const std::filesystem::path& root, const ShardPlan& plan,
                                       const LoadOptions& options, const DistributedOptions& mpi) {
  using namespace mpi_internal;
  const auto start = std::chrono::steady_clock::now();
  HUBLOAD_ASSIGN_OR_RETURN(Topology t, make_topology(mpi));
  Result<int> tp_rank = distributed_tp_rank(plan.world_size, mpi);
  Status usable = tp_rank ? ok() : Status(tp_rank.error());
  if (usable && options.convert_to) {
    usable = Error(ErrorKind::unsupported, "a scattered load copies tensors as stored: it cannot convert dtypes");
  }
  HUBLOAD_TRY(agree(t, usable));
  Result<RankPlan> rank = rank_plan(plan, *tp_rank);
  HUBLOAD_TRY(agree(t, rank ? ok() : Status(rank.error())));

  LoadedRank out;
  out.rank = rank->rank;
  out.world_size = rank->world_size;
  std::vector<std::uint64_t> offsets;
  std::uint64_t total = 0;
  for (const RankTensor& tensor : rank->tensors) {
    offsets.push_back(total);
    total = (total + tensor.bytes + kTensorAlignment - 1) / kTensorAlignment * kTensorAlignment;
  }
  Result<HostBuffer> storage = HostBuffer::allocate(total);
  HUBLOAD_TRY(agree(t, storage ? ok() : Status(storage.error())));
  out.storage = std::move(*storage);

  // Every rank of the node walks the same files (all ranks' plans), in one order.
  std::set<std::string> files;
  for (const TensorPlan& tensor : plan.tensors) files.insert(tensor.file);
  Status copied = ok();
  for (const std::string& name : files) {
    Result<SharedFile> shared = SharedFile::read(t, root / name, out.bytes_read);
    if (!shared) {
      copied = shared.error();
      break;
    }
    const std::span<const std::byte> bytes = shared->bytes();
    for (std::size_t i = 0; i < rank->tensors.size() && copied; ++i) {
      const RankTensor& tensor = rank->tensors[i];
      if (tensor.file != name) continue;
      for (const ByteRun& run : tensor.runs) {
        if (run.file_offset + run.length > bytes.size() || run.dest_offset + run.length > tensor.bytes) {
          copied = invalid_input(fmt::format("{}: bytes {}+{} of {} lie outside the file ({} bytes)", tensor.name,
                                             run.file_offset, run.length, name, bytes.size()));
          break;
        }
        std::copy_n(bytes.data() + run.file_offset, run.length, out.storage.data() + offsets[i] + run.dest_offset);
        ++out.read_calls;
      }
    }
    node_barrier(t);  // every rank has copied out before the window goes
  }
  HUBLOAD_TRY(agree(t, copied));
  for (std::size_t i = 0; i < rank->tensors.size(); ++i) {
    const RankTensor& tensor = rank->tensors[i];
    out.tensors.push_back({tensor.name, tensor.dtype, tensor.shape,
                           std::span(out.storage.data() + offsets[i], tensor.bytes)});
  }
  out.bytes_planned = rank->bytes_to_read();
  out.bytes_out = rank->bytes_out();
  out.reindex();
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return out;
}

}  // namespace hubload
