// RankLoader: executes a RankPlan (plan.h) — reads exactly one tensor-parallel
// rank's bytes from a checkpoint into aligned host memory, with a pool of I/O
// threads owned by the call, optionally converting bf16/f16/f32 on the way.
// Also: the pre-sharded checkpoint writer (vLLM's sharded_state naming).
#pragma once
#pragma GCC visibility push(default)  // public API: exported by the shared libraries (see CMake)

#include <cstddef>
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "hubload/error.h"
#include "hubload/plan.h"
#include "hubload/safetensors.h"

namespace hubload {

enum class ReadMethod : std::uint8_t {
  pread,  // default: positional reads into the destination (robust on network file systems)
  mmap,   // copy out of a read-only mapping of each shard
};

// Whether pread-method loads bypass the page cache with O_DIRECT
// (docs/tensor-parallel.md#cold-loads-direct-io).
enum class DirectIo : std::uint8_t {
  automatic,  // per file: direct when most of it is not in the page cache (mincore)
  on,         // direct wherever the file system reports direct-I/O alignment
  off,        // through the page cache
};

// What one read costs, the terms of the choice between exact-row reads and covering
// reads (docs/tensor-parallel.md#read-strategy-the-cost-model). The defaults were measured on the project's
// reference VM with bench/load_cost_bench.cpp (bench/RESULTS.md); measure your own
// machine with it and pass its figures.
struct ReadCost {
  double per_read_ns = 0;       // fixed cost of one read request
  double per_byte_ns = 0;       // reading one byte from the source
  double copy_per_byte_ns = 0;  // copying one byte out of a bounce buffer
};

// Where each tensor starts in a rank's arena (docs/tensor-parallel.md#the-arena).
enum class Placement : std::uint8_t {
  // Each tensor starts at an address that agrees with its bytes' file offset mod 64,
  // where every run of it agrees (a row slice: row stride and slice length agree mod
  // 64) and its element size allows it: the kernel's copy out of the page cache is
  // ~1.5x faster when source and destination agree mod 32 (bench/RESULTS.md). Other
  // tensors, and converted ones, start on a 256-byte boundary. Every tensor is
  // aligned to its element size, and to 64 bytes where its file offset is.
  like_file,
  aligned_256,  // every tensor on a 256-byte boundary
};

// Where a load stands: bytes of the plan's runs delivered so far, of all of them.
struct LoadProgress {
  int rank = 0;
  std::uint64_t bytes_done = 0;
  std::uint64_t bytes_total = 0;  // LoadedRank::bytes_planned
};

struct LoadOptions {
  int io_threads = 4;  // threads per load() call; 1 = read on the calling thread
  ReadMethod method = ReadMethod::pread;
  // Batch pread-method reads through io_uring where the kernel allows; false: one
  // pread per read. A rank's dim-1 slices are tens of thousands of KiB-sized row
  // reads, and one system call per batch instead of per row is most of their cost.
  // Where io_uring is refused (old kernel, seccomp, kernel.io_uring_disabled) the
  // loader falls back to pread silently.
  bool io_uring = true;
  // Float tensors (BF16, F16, F32) are converted to this dtype while loading
  // (round-to-nearest-even); tensors of other dtypes keep theirs.
  std::optional<DType> convert_to;
  // Runs separated by at most this many bytes are read as one covering range and
  // gathered (where the cost model finds the saved read worth the gap and the copy
  // out of a bounce buffer): fewer syscalls for dense strided slices, at most this
  // much extra read per gap...
  std::uint64_t max_gap_bytes = 4096;
  // ...and only while a covering range's gap bytes stay within this fraction of the
  // bytes it delivers, so a rank never reads much beyond its share (the default keeps
  // bytes read within 1/16 of the plan's; 0 merges nothing, a huge value ignores it).
  double max_overread = 1.0 / 16;
  // Bytes read from the files, at most this multiple of the rank's share (its plan's
  // runs), the gap merges above included (they may exceed it only where max_overread
  // is raised beyond it). Within it, a tensor whose runs are many small strided reads
  // (a row-parallel slice at W = 8: thousands of 1 KiB rows) is read as covering
  // ranges into a bounce buffer and copied out where the cost model (the costs below)
  // says that is cheaper, the best gain per extra byte first. Raising it trades
  // bytes for system calls: W (the world size) lets every such tensor be covered.
  // 1 turns covering reads off; below 1 is invalid_input.
  double max_read_amplification = 1.1;
  ReadCost cached_cost{1700, 0.12, 0.28};   // page-cache reads (measured, see ReadCost)
  ReadCost direct_cost{16800, 0.56, 0.28};  // O_DIRECT reads from the disk (measured)
  ReadCost mapped_cost{104, 0.057, 0.089};  // copies out of a leased mapping (map_short_reads; measured)
  // O_DIRECT for pread-method loads, through io_uring into aligned bounce buffers
  // (or straight into the destination where offsets and sizes are aligned). Where
  // the file system refuses it or io_uring is unavailable, reads go through the page
  // cache; reads too small for their alignment to stay within the amplification
  // bound do too.
  DirectIo direct = DirectIo::automatic;
  Placement placement = Placement::like_file;
  // pread method: a file whose reads are many and short (a row-parallel slice at
  // W = 8: thousands of 1-3.5 KiB rows), and which is in the page cache, has those
  // reads copied out of a read-only mapping instead, with no system call per row.
  // The mapping is held under a read lease (fcntl F_SETLEASE), so the file cannot
  // be truncated under it: a process that opens it for writing waits until the
  // load has stopped using it. Where no lease is granted (the file is open for
  // writing, is not the caller's, or sits on NFS or FUSE) those rows are read.
  // false: always read.
  bool map_short_reads = true;
  // Reads are cut at this size so that the threads share long runs.
  std::uint64_t chunk_bytes = 8u << 20;
  // Called after each batch of reads (at most 1 MiB or 64 reads; one read with
  // neither io_uring nor map_short_reads) from the I/O threads, one call at a time
  // and with bytes_done rising, so it need not be thread-safe within one load.
  // Returning false cancels the load.
  std::function<bool(const LoadProgress&)> progress;
  // Polled before each batch of reads: once it is true, the load stops with
  // ErrorKind::cancelled (e.g. set from a signal handler or another thread).
  // Not owned; must outlive the load.
  const std::atomic<bool>* cancel = nullptr;
};

// Owns a page-aligned, zero-filled host allocation (an anonymous mapping; from
// 2 MiB up, aligned to 2 MiB and advised for transparent huge pages). Move-only.
class HostBuffer {
 public:
  static constexpr std::size_t kAlignment = 4096;
  HostBuffer() = default;
  static Result<HostBuffer> allocate(std::size_t bytes);  // io error when allocation fails
  HostBuffer(HostBuffer&& other) noexcept;
  HostBuffer& operator=(HostBuffer&& other) noexcept;
  HostBuffer(const HostBuffer&) = delete;
  HostBuffer& operator=(const HostBuffer&) = delete;
  ~HostBuffer();
  std::byte* data() const { return data_; }
  std::size_t size() const { return size_; }

 private:
  void release() noexcept;
  std::byte* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t mapped_ = 0;
};

struct LoadedTensor {
  std::string name;
  DType dtype = DType::F32;
  std::vector<std::uint64_t> shape;
  std::span<std::byte> bytes;  // into LoadedRank::storage, aligned as LoadOptions::placement says
};

struct LoadedRank {
  int rank = 0;
  int world_size = 1;
  std::vector<LoadedTensor> tensors;  // plan order
  std::uint64_t bytes_read = 0;       // bytes fetched from the files (covering ranges included)
  std::uint64_t bytes_planned = 0;    // bytes the plan's runs name (this rank's share)
  std::uint64_t bytes_out = 0;        // bytes of the loaded tensors
  std::uint64_t read_calls = 0;       // reads issued (pread or io_uring) or copies from the mapping
  std::uint64_t uring_reads = 0;      // of read_calls, those submitted through io_uring (0: off or refused)
  std::uint64_t direct_reads = 0;     // of read_calls, those read with O_DIRECT (bytes_read counts their alignment)
  std::uint64_t mapped_reads = 0;     // of read_calls, those copied out of a leased mapping (map_short_reads)
  std::uint64_t covered_tensors = 0;  // tensors read as covering ranges by the cost model
  double seconds = 0;                 // wall time of the load
  HostBuffer storage;
  NameIndex name_index;  // over tensors; see NameIndex (safetensors.h)

  const LoadedTensor* find(std::string_view name) const;  // O(log n) once indexed
  void reindex();  // after editing tensors
};

class RankLoader {
 public:
  // `root`: the checkpoint folder that the plan's file names are relative to.
  // invalid_input for io_threads < 1 or a convert_to outside BF16/F16/F32.
  static Result<RankLoader> create(std::filesystem::path root, LoadOptions options = {});

  // Reads every tensor of `plan` into a new HostBuffer (LoadedRank::storage). Errors
  // name the file and byte range; a failed read stops the other threads. A set
  // cancel flag or a progress callback returning false stops it too, with
  // ErrorKind::cancelled. Safe to call concurrently on one loader.
  Result<LoadedRank> load(const RankPlan& plan) const;

  // The same into caller-owned memory (pinned host memory, a tensor's storage, a
  // reused arena): `arena` must hold arena_bytes(plan) bytes and be 256-byte
  // aligned (invalid_input otherwise). The result's tensors point into `arena`;
  // its storage stays empty.
  Result<LoadedRank> load_into(const RankPlan& plan, std::span<std::byte> arena) const;

  // Bytes of the arena load() allocates for `plan`: every tensor after dtype
  // conversion, each placed as LoadOptions::placement says (arena_layout).
  std::uint64_t arena_bytes(const RankPlan& plan) const;

  const LoadOptions& options() const { return options_; }

 private:
  RankLoader(std::filesystem::path root, LoadOptions options) : root_(std::move(root)), options_(std::move(options)) {}
  std::filesystem::path root_;
  LoadOptions options_;
};

// Where each tensor of `plan` starts in a 256-byte aligned arena loaded with
// `options` (its placement and convert_to), and the arena's size: what load()
// allocates and load_into() needs. For loaders that fill an arena of their own.
struct ArenaLayout {
  std::vector<std::uint64_t> offsets;  // per tensor of the plan, in plan order
  std::vector<std::uint64_t> sizes;    // per tensor: its bytes once loaded (after conversion)
  std::uint64_t bytes = 0;             // the arena, padding included
  std::uint64_t bytes_out = 0;         // the tensors' own bytes (the sum of sizes)
};
ArenaLayout arena_layout(const RankPlan& plan, const LoadOptions& options);

// Whether `options.convert_to` can apply to `plan`: a BF16/F16/F32 target, and no
// quantized tensor (scales and packed weights mean nothing in another float type).
// invalid_input naming the tensor otherwise; ok() without a conversion.
Status check_conversion(const RankPlan& plan, const LoadOptions& options);

// Element-wise float conversion between BF16, F16 and F32 (round-to-nearest-even,
// NaN stays NaN, overflow goes to infinity). `in` holds whole elements of `from`;
// `out` must hold as many elements of `to`. invalid_input otherwise.
Status convert_floats(DType from, DType to, std::span<const std::byte> in, std::span<std::byte> out);
bool is_convertible_float(DType dtype);
// The dtype a stored tensor has once loaded with `options` (convert_to applies to floats).
DType loaded_dtype(DType stored, const LoadOptions& options);

// ---- Pre-sharded checkpoints (tensor-parallel.md §12) -----------------------------

struct ShardWriteOptions {
  std::filesystem::path out_dir;
  std::uint64_t max_part_bytes = 0;  // 0: one part per rank
  LoadOptions load;                  // how the source is read
  std::uint64_t batch_bytes = 256u << 20;  // rank bytes held in memory at once
};

struct ShardWriteResult {
  std::vector<std::vector<std::string>> rank_files;  // per rank, file names in out_dir
  std::uint64_t bytes_written = 0;
};

// Writes model-rank-{rank}-part-{part}.safetensors for every rank of `plan` into
// options.out_dir (created if needed), each a complete safetensors file holding
// that rank's tensors under their checkpoint names and per-rank shapes, plus
// tp-plan.json, and copies the model folder's small non-weight files (config,
// tokenizer). Memory use is bounded by batch_bytes (plus one tensor).
Result<ShardWriteResult> write_rank_shards(const std::filesystem::path& model_dir, const ShardPlan& plan,
                                           const ShardWriteOptions& options);

// The file name of rank `rank`, part `part`: "model-rank-0-part-0.safetensors".
std::string rank_shard_name(int rank, int part);

}  // namespace hubload
#pragma GCC visibility pop
