// RankLoader::load: allocate one aligned arena for the rank, zero the padding,
// then let io_threads workers take batches of read tasks in order until done or
// failed; with pread, each worker sends its batch's direct reads through its own
// io_uring in one submission when the kernel allows it.
#include <atomic>
#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <variant>

#include "hubload/file.h"
#include "hubload/load.h"
#include "load/read_tasks.h"
#include "load/uring_reader.h"

namespace hubload {
namespace {

using load_internal::Destination;
using load_internal::Piece;
using load_internal::PositionalRead;
using load_internal::ReadTask;
using load_internal::UringReader;

constexpr std::uint64_t kTensorAlignment = 256;
// A batch: up to this many tasks (the ring's depth) or this many bytes.
constexpr std::size_t kBatchTasks = 64;
constexpr std::uint64_t kBatchBytes = 1u << 20;

using Source = std::variant<ReadFile, MappedFile>;

struct Sources {
  std::vector<Source> files;
  std::vector<std::string> names;
};

Result<Sources> open_sources(const std::filesystem::path& root_path, const RankPlan& plan, ReadMethod method,
                             std::map<std::string, std::size_t>& index) {
  Sources s;
  const std::string root = root_path.string();
  for (const RankTensor& t : plan.tensors) {
    if (index.count(t.file)) continue;
    std::string path = root.empty() ? t.file : root + "/" + t.file;
    if (method == ReadMethod::mmap) {
      HUBLOAD_ASSIGN_OR_RETURN(MappedFile f, MappedFile::open(path));
      s.files.emplace_back(std::move(f));
    } else {
      HUBLOAD_ASSIGN_OR_RETURN(ReadFile f, ReadFile::open(path));
      s.files.emplace_back(std::move(f));
    }
    index[t.file] = s.names.size();
    s.names.push_back(path);
  }
  return s;
}

Status deliver(const Piece& p, const std::byte* src) {
  if (p.from == p.to) {
    std::memcpy(p.dest, src, p.length);
    return ok();
  }
  std::uint64_t out_len = p.length / (dtype_bits(p.from) / 8) * (dtype_bits(p.to) / 8);
  return convert_floats(p.from, p.to, {src, p.length}, {p.dest, out_len});
}

Status check_in_file(const ReadTask& task, const Sources& sources, std::uint64_t file_size) {
  if (task.offset <= file_size && task.length <= file_size - task.offset) return ok();
  return invalid_input(sources.names[task.file] + ": byte range [" + std::to_string(task.offset) + ", " +
                       std::to_string(task.offset + task.length) + ") is past the end of the file (" +
                       std::to_string(file_size) + " bytes)");
}

// One task; `scratch` is the calling thread's buffer for covering reads.
Status run_task(const ReadTask& task, const Sources& sources, std::vector<std::byte>& scratch) {
  const Source& source = sources.files[task.file];
  if (const auto* map = std::get_if<MappedFile>(&source)) {
    HUBLOAD_TRY(check_in_file(task, sources, map->size()));
    const std::byte* base = map->bytes().data() + task.offset;
    for (const Piece& p : task.pieces) HUBLOAD_TRY(deliver(p, base + p.task_offset));
    return ok();
  }
  const ReadFile& file = std::get<ReadFile>(source);
  if (task.direct()) return file.read_at(task.offset, {task.pieces[0].dest, task.length});
  if (scratch.size() < task.length) scratch.resize(task.length);
  HUBLOAD_TRY(file.read_at(task.offset, {scratch.data(), task.length}));
  for (const Piece& p : task.pieces) HUBLOAD_TRY(deliver(p, scratch.data() + p.task_offset));
  return ok();
}

// A batch of tasks: with a ring, its direct reads go out in one submission
// (after the others ran); `direct` is the calling thread's list, reused.
Status run_batch(std::span<const ReadTask> batch, const Sources& sources, std::vector<std::byte>& scratch,
                 UringReader* ring, std::vector<PositionalRead>& direct) {
  direct.clear();
  for (const ReadTask& task : batch) {
    if (ring == nullptr || !task.direct()) {
      HUBLOAD_TRY(run_task(task, sources, scratch));
      continue;
    }
    const ReadFile& file = std::get<ReadFile>(sources.files[task.file]);
    HUBLOAD_TRY(check_in_file(task, sources, file.size()));
    direct.push_back(PositionalRead{file.fd(), task.offset, task.length, task.pieces[0].dest, file.path().native()});
  }
  return direct.empty() ? ok() : ring->read_all(direct);
}

}  // namespace

Result<RankLoader> RankLoader::create(std::filesystem::path root, LoadOptions options) {
  if (options.io_threads < 1)
    return invalid_input("io_threads must be at least 1, got " + std::to_string(options.io_threads));
  if (!(options.max_overread >= 0))  // also rejects NaN
    return invalid_input("max_overread must be a fraction >= 0, got " + std::to_string(options.max_overread));
  if (options.convert_to && !is_convertible_float(*options.convert_to))
    return invalid_input("cannot convert tensors to " + std::string(to_string(*options.convert_to)) +
                         "; choose BF16, F16 or F32");
  return RankLoader(std::move(root), std::move(options));
}

namespace {

// Where each tensor of `plan` starts in the arena, and its dtype once loaded.
struct Layout {
  std::vector<std::uint64_t> offsets;
  std::vector<DType> types;
  std::uint64_t total = 0;      // arena bytes
  std::uint64_t bytes_out = 0;  // tensor bytes (total less alignment padding)
};

Layout lay_out(const RankPlan& plan, const LoadOptions& options) {
  Layout l;
  for (const RankTensor& t : plan.tensors) {
    DType to = loaded_dtype(t.dtype, options);
    std::uint64_t bytes = t.bytes;
    if (to != t.dtype) bytes = t.bytes / (dtype_bits(t.dtype) / 8) * (dtype_bits(to) / 8);
    l.total = (l.total + kTensorAlignment - 1) / kTensorAlignment * kTensorAlignment;
    l.offsets.push_back(l.total);
    l.types.push_back(to);
    l.total += bytes;
    l.bytes_out += bytes;
  }
  return l;
}

}  // namespace

std::uint64_t RankLoader::arena_bytes(const RankPlan& plan) const { return lay_out(plan, options_).total; }

Result<LoadedRank> RankLoader::load(const RankPlan& plan) const {
  const auto start = std::chrono::steady_clock::now();
  HUBLOAD_ASSIGN_OR_RETURN(HostBuffer storage, HostBuffer::allocate(arena_bytes(plan)));
  HUBLOAD_ASSIGN_OR_RETURN(LoadedRank out, load_into(plan, {storage.data(), storage.size()}));
  out.storage = std::move(storage);
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return out;
}

Result<LoadedRank> RankLoader::load_into(const RankPlan& plan, std::span<std::byte> arena) const {
  const auto start = std::chrono::steady_clock::now();
  const Layout layout = lay_out(plan, options_);
  if (arena.size() < layout.total)
    return invalid_input("rank " + std::to_string(plan.rank) + " needs an arena of " + std::to_string(layout.total) +
                         " bytes; the one given holds " + std::to_string(arena.size()));
  if (reinterpret_cast<std::uintptr_t>(arena.data()) % kTensorAlignment != 0)
    return invalid_input("the arena for rank " + std::to_string(plan.rank) + " must be " +
                         std::to_string(kTensorAlignment) + "-byte aligned");
  if (options_.convert_to) {
    // Scales and packed weights mean nothing in another float type.
    for (const RankTensor& t : plan.tensors)
      if (is_quantized_tensor(t.name, t.dtype))
        return invalid_input("dtype conversion to " + std::string(to_string(*options_.convert_to)) +
                             " cannot apply to quantized tensor '" + t.name + "' (" + std::string(to_string(t.dtype)) +
                             "); load a quantized checkpoint without conversion");
  }
  std::map<std::string, std::size_t> file_index;
  HUBLOAD_ASSIGN_OR_RETURN(Sources sources, open_sources(root_, plan, options_.method, file_index));

  LoadedRank out;
  out.rank = plan.rank;
  out.world_size = plan.world_size;
  out.bytes_out = layout.bytes_out;
  std::vector<Destination> dests;
  for (std::size_t i = 0; i < plan.tensors.size(); ++i) {
    const RankTensor& t = plan.tensors[i];
    std::byte* base = arena.data() + layout.offsets[i];
    DType to = layout.types[i];
    std::uint64_t scale_num = dtype_bits(to), scale_den = dtype_bits(t.dtype);
    std::uint64_t bytes = t.bytes * scale_num / scale_den;
    for (const SliceRange& z : t.zero_fill)
      std::memset(base + z.start * scale_num / scale_den, 0, z.length * scale_num / scale_den);
    out.tensors.push_back(LoadedTensor{t.name, to, t.shape, {base, bytes}});
    dests.push_back(Destination{base, t.dtype, to, file_index.at(t.file)});
    for (const ByteRun& r : t.runs) out.bytes_planned += r.length;
  }
  out.reindex();

  std::vector<ReadTask> tasks = load_internal::build_read_tasks(plan, dests, options_);
  for (const ReadTask& t : tasks) out.bytes_read += t.length;
  out.read_calls = tasks.size();

  // Batches only pay off where a worker has a ring; otherwise one task per claim.
  const bool batched = options_.io_uring && options_.method == ReadMethod::pread;
  const std::vector<std::size_t> bounds =
      load_internal::batch_bounds(tasks, batched ? kBatchTasks : 1, batched ? kBatchBytes : 0);
  const std::size_t batches = bounds.size() - 1;
  std::atomic<std::size_t> next{0};
  std::atomic<std::uint64_t> uring_reads{0};
  std::atomic<bool> failed{false};
  std::mutex error_mutex;
  std::optional<Error> first_error;
  auto fail = [&](Error error) {
    std::lock_guard lock(error_mutex);
    if (!first_error) first_error = std::move(error);
    failed = true;
  };
  // Calls to the progress callback are serialized, and bytes_done only rises.
  std::mutex progress_mutex;
  LoadProgress progress{plan.rank, 0, out.bytes_planned};
  auto report = [&](std::size_t first, std::size_t last) {
    std::lock_guard lock(progress_mutex);
    for (std::size_t i = first; i < last; ++i) progress.bytes_done += tasks[i].length - tasks[i].gap_bytes;
    if (!options_.progress(progress)) fail(cancelled_error("cancelled by the progress callback"));
  };
  auto worker = [&] {
    std::vector<std::byte> scratch;
    std::vector<PositionalRead> direct;
    // Where the kernel refuses io_uring this worker reads with pread, batch by batch.
    std::optional<UringReader> ring;
    if (batched) {
      if (Result<UringReader> r = UringReader::create(kBatchTasks)) ring.emplace(std::move(r).value());
    }
    while (!failed.load(std::memory_order_relaxed)) {
      if (options_.cancel != nullptr && options_.cancel->load()) {
        fail(cancelled_error("cancelled"));
        return;
      }
      std::size_t b = next.fetch_add(1);
      if (b >= batches) return;
      Status s = run_batch(std::span(tasks).subspan(bounds[b], bounds[b + 1] - bounds[b]), sources, scratch,
                           ring ? &*ring : nullptr, direct);
      uring_reads.fetch_add(direct.size(), std::memory_order_relaxed);  // what run_batch sent to the ring
      if (!s) {
        fail(std::move(s).error());
      } else if (options_.progress) {
        report(bounds[b], bounds[b + 1]);
      }
    }
  };
  std::size_t threads = std::min<std::size_t>(static_cast<std::size_t>(options_.io_threads), batches);
  if (threads <= 1) {
    worker();
  } else {
    std::vector<std::jthread> pool;
    for (std::size_t i = 0; i < threads; ++i) pool.emplace_back(worker);
  }
  if (first_error) return std::move(*first_error).with_context("loading rank " + std::to_string(plan.rank));
  out.uring_reads = uring_reads.load();
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return out;
}

}  // namespace hubload
