// RankLoader::load: allocate one aligned arena for the rank, zero the padding,
// then let io_threads workers take batches of read tasks in order until done or
// failed; with pread, each worker sends its batch's direct reads through its own
// io_uring in one submission when the kernel allows it, and O_DIRECT reads of
// cold files through the same ring into its aligned bounce buffer, and the short
// reads of cached files with many of them as copies out of a leased mapping.
#include <fcntl.h>
#include <unistd.h>

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
#include "load/copy_agreement.h"
#include "load/direct_io.h"
#include "load/leased_mapping.h"
#include "load/read_tasks.h"
#include "load/uring_reader.h"

namespace hubload {
namespace {

using load_internal::Destination;
using load_internal::DirectFile;
using load_internal::LeasedMapping;
using load_internal::Piece;
using load_internal::PositionalRead;
using load_internal::ReadTask;
using load_internal::UringReader;

// load_into's arena: aligned so that every placement's offsets keep their meaning.
constexpr std::uint64_t kArenaAlignment = 256;
// A batch: up to this many tasks (the ring's depth) or this many bytes.
constexpr std::size_t kBatchTasks = 64;
constexpr std::uint64_t kBatchBytes = 1u << 20;
// With O_DIRECT a batch is the bytes a worker keeps in flight against the disk,
// in requests of at most kDirectRequest bytes.
constexpr std::uint64_t kDirectBatchBytes = 16u << 20;
constexpr std::uint64_t kDirectRequest = 1u << 20;
// A read goes direct only while its alignment adds at most 1/64 to it.
constexpr std::uint64_t kDirectMaxPadShare = 64;
// map_short_reads: a read this short costs the kernel more per byte than a copy
// out of a mapping (bench/RESULTS.md, session 9), and a file needs this many of
// them before its mapping and lease are worth setting up.
constexpr std::uint64_t kMappedReadMax = 64u << 10;
constexpr std::size_t kMappedMinReads = 64;
// ...and must be in the page cache (the residency probe's estimate), so that the
// copies do not wait on the disk one page fault at a time.
constexpr double kMappedMinResident = 0.9;

using Source = std::variant<ReadFile, MappedFile>;

// Every buffered read asks whether to update the file's access time (a W = 8 rank
// is ~33,000 reads). One plain read leaves the atime as all of them would under
// relatime (`hubload cache` filters on it), then O_NOATIME spares the rest. The
// kernel allows O_NOATIME only to the file's owner; elsewhere every read asks.
void touch_access_time_once(const ReadFile& file) {
  std::byte first{};
  if (file.size() > 0 && ::pread(file.fd(), &first, 1, 0) != 1) return;
  const int flags = ::fcntl(file.fd(), F_GETFL);
  if (flags >= 0) ::fcntl(file.fd(), F_SETFL, flags | O_NOATIME);
}

struct Sources {
  std::vector<Source> files;
  std::vector<std::string> names;
  std::vector<std::optional<DirectFile>> direct;  // per file: its O_DIRECT descriptor, where used
  std::vector<std::optional<double>> resident;    // per file: the residency probe's answer, where asked
  std::vector<std::optional<LeasedMapping>> mapped;  // per file: where its short reads are copied instead
};

Result<Sources> open_sources(const std::filesystem::path& root_path, const RankPlan& plan, const LoadOptions& options,
                             std::map<std::string, std::size_t>& index) {
  Sources s;
  const std::string root = root_path.string();
  for (const RankTensor& t : plan.tensors) {
    if (index.count(t.file)) continue;
    std::string path = root.empty() ? t.file : root + "/" + t.file;
    if (options.method == ReadMethod::mmap) {
      HUBLOAD_ASSIGN_OR_RETURN(MappedFile f, MappedFile::open(path));
      s.files.emplace_back(std::move(f));
    } else {
      HUBLOAD_ASSIGN_OR_RETURN(ReadFile f, ReadFile::open(path));
      touch_access_time_once(f);
      s.files.emplace_back(std::move(f));
    }
    std::optional<DirectFile> direct;
    std::optional<double> probed;
    bool want = options.method == ReadMethod::pread && options.io_uring && options.direct != DirectIo::off;
    if (want && options.direct == DirectIo::automatic) {
      // A file mostly in the page cache is read from there; a cold one is not
      // pulled into it (a model is read once).
      Result<double> resident = load_internal::resident_fraction(path);
      want = resident && *resident < 0.5;
      if (resident) probed = *resident;
    }
    if (want) {
      // Refused (tmpfs, network file systems): read through the page cache.
      if (Result<DirectFile> d = load_internal::open_direct(path)) direct.emplace(std::move(d).value());
    }
    s.direct.push_back(std::move(direct));
    s.resident.push_back(probed);
    s.mapped.emplace_back();
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

// Grows a thread's buffer to at least `bytes`, dropping its contents. Never less
// than a huge page: a fresh buffer's first-touch faults cost more than its reads.
Status grow(HostBuffer& buffer, std::uint64_t bytes) {
  if (buffer.size() >= bytes) return ok();
  buffer = HostBuffer{};
  HUBLOAD_ASSIGN_OR_RETURN(buffer, HostBuffer::allocate(std::max<std::uint64_t>(bytes, 2u << 20)));
  return ok();
}

// One task; `scratch` is the calling thread's buffer for covering reads.
Status run_task(const ReadTask& task, const Sources& sources, HostBuffer& scratch) {
  const Source& source = sources.files[task.file];
  if (const auto* map = std::get_if<MappedFile>(&source)) {
    HUBLOAD_TRY(check_in_file(task, sources, map->size()));
    const std::byte* base = map->bytes().data() + task.offset;
    for (const Piece& p : task.pieces) HUBLOAD_TRY(deliver(p, base + p.task_offset));
    return ok();
  }
  const ReadFile& file = std::get<ReadFile>(source);
  if (task.direct()) return file.read_at(task.offset, {task.pieces[0].dest, task.length});
  // Placed to agree with the file, as the arena's tensors are.
  HUBLOAD_TRY(grow(scratch, task.length + load_internal::kCopyAgreement));
  std::byte* at = scratch.data() + task.offset % load_internal::kCopyAgreement;
  HUBLOAD_TRY(file.read_at(task.offset, {at, task.length}));
  for (const Piece& p : task.pieces) HUBLOAD_TRY(deliver(p, at + p.task_offset));
  return ok();
}

// A task whose file is mapped under a lease: its pieces copied out of the mapping.
Status copy_mapped(const ReadTask& task, const LeasedMapping& map, const Sources& sources) {
  HUBLOAD_TRY(check_in_file(task, sources, map.bytes().size()));
  const std::byte* base = map.bytes().data() + task.offset;
  for (const Piece& p : task.pieces) HUBLOAD_TRY(deliver(p, base + p.task_offset));
  return ok();
}

// A task's O_DIRECT extent: its range widened to the file system's alignment,
// and the bytes of it that exist (the file's tail need not fill a block).
struct Aligned {
  std::uint64_t offset = 0, length = 0, bytes = 0;
};

Aligned aligned_extent(const ReadTask& task, const DirectFile& d, std::uint64_t file_size) {
  const std::uint64_t a = d.offset_align;
  Aligned x;
  x.offset = task.offset / a * a;
  x.length = (task.offset + task.length + a - 1) / a * a - x.offset;
  x.bytes = std::min(x.offset + x.length, std::max(file_size, x.offset)) - x.offset;
  return x;
}

// Per worker: its ring (where the kernel allows), buffers and counts.
struct WorkerState {
  std::optional<UringReader> ring;
  HostBuffer scratch;  // covering and gap-merged reads
  std::vector<PositionalRead> reads;
  HostBuffer bounce;  // page-aligned, for O_DIRECT reads that cannot land in place
  std::uint64_t uring_reads = 0, direct_reads = 0, mapped_reads = 0, bytes_read = 0;
};

// The batch's O_DIRECT tasks (`use_direct`): in pieces of kDirectRequest through the
// ring, in place where the task is one aligned piece, else into the bounce buffer
// and copied out. false where they were not read so (the caller reads them
// buffered); an error only for what buffered reading would not cure.
Result<bool> run_direct(std::span<const ReadTask> batch, const std::vector<bool>& use_direct, std::size_t first,
                        const Sources& sources, WorkerState& w) {
  if (!w.ring) return false;
  struct Placed {
    std::size_t task;
    std::uint64_t bounce_at;  // UINT64_MAX: in place
    Aligned extent;
  };
  std::vector<Placed> placed;
  std::uint64_t bounce_bytes = 0;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (!use_direct[first + i]) continue;
    const ReadTask& task = batch[i];
    const DirectFile& d = *sources.direct[task.file];
    const ReadFile& file = std::get<ReadFile>(sources.files[task.file]);
    HUBLOAD_TRY(check_in_file(task, sources, file.size()));
    const Aligned x = aligned_extent(task, d, file.size());
    const bool in_place = task.direct() && x.offset == task.offset && x.length == task.length &&
                          reinterpret_cast<std::uintptr_t>(task.pieces[0].dest) % d.memory_align == 0;
    placed.push_back({i, in_place ? UINT64_MAX : bounce_bytes, x});
    if (!in_place) bounce_bytes += (x.length + HostBuffer::kAlignment - 1) / HostBuffer::kAlignment * HostBuffer::kAlignment;
  }
  if (placed.empty()) return true;
  HUBLOAD_TRY(grow(w.bounce, bounce_bytes));
  w.reads.clear();
  for (const Placed& p : placed) {
    const ReadTask& task = batch[p.task];
    std::byte* dest = p.bounce_at == UINT64_MAX ? task.pieces[0].dest : w.bounce.data() + p.bounce_at;
    const int fd = sources.direct[task.file]->fd.get();
    for (std::uint64_t at = 0; at < p.extent.length; at += kDirectRequest) {
      const std::uint64_t length = std::min(kDirectRequest, p.extent.length - at);
      const std::uint64_t exists = p.extent.bytes > at ? std::min(length, p.extent.bytes - at) : 0;
      if (exists == 0) break;
      w.reads.push_back(PositionalRead{fd, p.extent.offset + at, length, dest + at, sources.names[task.file], exists});
    }
  }
  // A refused direct read (EINVAL from a file system that took the open) falls
  // back to the page cache; the buffered read reports any real I/O error.
  if (!w.ring->read_all(w.reads)) return false;
  for (const Placed& p : placed) {
    const ReadTask& task = batch[p.task];
    if (p.bounce_at != UINT64_MAX) {
      const std::byte* base = w.bounce.data() + p.bounce_at + (task.offset - p.extent.offset);
      for (const Piece& piece : task.pieces) HUBLOAD_TRY(deliver(piece, base + piece.task_offset));
    }
    w.bytes_read += p.extent.bytes;
  }
  w.uring_reads += placed.size();
  w.direct_reads += placed.size();
  return true;
}

// A batch of tasks: O_DIRECT ones first (see run_direct), then with a ring, the
// buffered direct reads go out in one submission (after the others ran).
Status run_batch(std::span<const ReadTask> batch, std::size_t first, const std::vector<bool>& use_direct,
                 const std::vector<bool>& use_mapped, const Sources& sources, WorkerState& w) {
  bool any_direct = false;
  for (std::size_t i = 0; i < batch.size(); ++i) any_direct = any_direct || use_direct[first + i];
  bool direct_done = false;
  if (any_direct) {
    HUBLOAD_ASSIGN_OR_RETURN(direct_done, run_direct(batch, use_direct, first, sources, w));
    // The ring stays usable after a refused read, but one that failed outright is closed.
    if (!direct_done && w.ring) {
      if (Result<UringReader> r = UringReader::create(kBatchTasks)) w.ring.emplace(std::move(r).value());
    }
  }
  w.reads.clear();
  // The lease is asked about once per file per batch (microseconds of copying),
  // and a file whose lease a writer waits for is read from then on.
  std::size_t asked_file = SIZE_MAX;
  bool held = false;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const ReadTask& task = batch[i];
    if (direct_done && use_direct[first + i]) continue;
    w.bytes_read += task.length;
    if (use_mapped[first + i]) {
      const LeasedMapping& map = *sources.mapped[task.file];
      if (asked_file != task.file) {
        asked_file = task.file;
        held = map.held();
      }
      if (held) {
        HUBLOAD_TRY(copy_mapped(task, map, sources));
        ++w.mapped_reads;
        continue;
      }
    }
    if (!w.ring || !task.direct()) {
      HUBLOAD_TRY(run_task(task, sources, w.scratch));
      continue;
    }
    const ReadFile& file = std::get<ReadFile>(sources.files[task.file]);
    HUBLOAD_TRY(check_in_file(task, sources, file.size()));
    w.reads.push_back(PositionalRead{file.fd(), task.offset, task.length, task.pieces[0].dest, file.path().native()});
  }
  if (w.reads.empty()) return ok();
  w.uring_reads += w.reads.size();
  return w.ring->read_all(w.reads);
}

// Which tasks read with O_DIRECT: those of direct files whose alignment adds at
// most 1/kDirectMaxPadShare, while all bytes read stay within `allowed`.
std::vector<bool> choose_direct(const std::vector<ReadTask>& tasks, const Sources& sources, double allowed) {
  std::vector<bool> use(tasks.size(), false);
  double left = allowed;
  for (const ReadTask& t : tasks) left -= static_cast<double>(t.length);
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    const ReadTask& t = tasks[i];
    if (!sources.direct[t.file]) continue;
    const std::uint64_t size = std::get<ReadFile>(sources.files[t.file]).size();
    if (t.offset > size || t.length > size - t.offset) continue;  // reported by the buffered path
    const Aligned x = aligned_extent(t, *sources.direct[t.file], size);
    const std::uint64_t pad = x.bytes - t.length;
    if (pad * kDirectMaxPadShare > t.length || static_cast<double>(pad) > left) continue;
    left -= static_cast<double>(pad);
    use[i] = true;
  }
  return use;
}

// map_short_reads: maps, under a lease, each file that has at least
// kMappedMinReads runs of at most kMappedReadMax bytes and is in the page cache.
// Decided from the plan's runs, before the read tasks, so that the cost model
// prices those files' reads as copies (no covering reads, no gap merges).
void map_files(const RankPlan& plan, const std::vector<Destination>& dests, Sources& sources,
               const LoadOptions& options) {
  if (options.method != ReadMethod::pread || !options.map_short_reads) return;
  std::vector<std::size_t> short_runs(sources.files.size(), 0);
  for (std::size_t t = 0; t < plan.tensors.size(); ++t)
    for (const ByteRun& r : plan.tensors[t].runs)
      if (r.length > 0 && r.length <= kMappedReadMax) ++short_runs[dests[t].file];
  for (std::size_t f = 0; f < sources.files.size(); ++f) {
    if (short_runs[f] < kMappedMinReads || sources.direct[f]) continue;
    if (!sources.resident[f]) {
      Result<double> r = load_internal::resident_fraction(sources.names[f]);
      sources.resident[f] = r ? *r : 0.0;
    }
    if (*sources.resident[f] < kMappedMinResident) continue;
    const int fd = std::get<ReadFile>(sources.files[f]).fd();  // the file the other reads use
    Result<LeasedMapping> m = LeasedMapping::open(sources.names[f], fd);
    if (m) sources.mapped[f].emplace(std::move(m).value());
  }
}

// Which tasks are copies out of a leased mapping: the short buffered ones of mapped files.
std::vector<bool> mapped_tasks(const std::vector<ReadTask>& tasks, const std::vector<bool>& use_direct,
                               const Sources& sources) {
  std::vector<bool> use(tasks.size(), false);
  for (std::size_t i = 0; i < tasks.size(); ++i)
    use[i] = !use_direct[i] && tasks[i].length <= kMappedReadMax && sources.mapped[tasks[i].file].has_value();
  return use;
}

}  // namespace

Result<RankLoader> RankLoader::create(std::filesystem::path root, LoadOptions options) {
  if (options.io_threads < 1)
    return invalid_input("io_threads must be at least 1, got " + std::to_string(options.io_threads));
  if (!(options.max_overread >= 0))  // also rejects NaN
    return invalid_input("max_overread must be a fraction >= 0, got " + std::to_string(options.max_overread));
  if (!(options.max_read_amplification >= 1))
    return invalid_input("max_read_amplification must be at least 1 (bytes read per byte of the rank's share), got " +
                         std::to_string(options.max_read_amplification));
  if (options.convert_to && !is_convertible_float(*options.convert_to))
    return invalid_input("cannot convert tensors to " + std::string(to_string(*options.convert_to)) +
                         "; choose BF16, F16 or F32");
  return RankLoader(std::move(root), std::move(options));
}

std::uint64_t RankLoader::arena_bytes(const RankPlan& plan) const { return arena_layout(plan, options_).bytes; }

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
  const ArenaLayout layout = arena_layout(plan, options_);
  if (arena.size() < layout.bytes)
    return invalid_input("rank " + std::to_string(plan.rank) + " needs an arena of " + std::to_string(layout.bytes) +
                         " bytes; the one given holds " + std::to_string(arena.size()));
  if (reinterpret_cast<std::uintptr_t>(arena.data()) % kArenaAlignment != 0)
    return invalid_input("the arena for rank " + std::to_string(plan.rank) + " must be " +
                         std::to_string(kArenaAlignment) + "-byte aligned");
  HUBLOAD_TRY(check_conversion(plan, options_));
  std::map<std::string, std::size_t> file_index;
  HUBLOAD_ASSIGN_OR_RETURN(Sources sources, open_sources(root_, plan, options_, file_index));

  LoadedRank out;
  out.rank = plan.rank;
  out.world_size = plan.world_size;
  std::vector<Destination> dests;
  for (std::size_t i = 0; i < plan.tensors.size(); ++i) {
    const RankTensor& t = plan.tensors[i];
    std::byte* base = arena.data() + layout.offsets[i];
    const DType to = loaded_dtype(t.dtype, options_);
    std::uint64_t scale_num = dtype_bits(to), scale_den = dtype_bits(t.dtype);
    const std::uint64_t bytes = layout.sizes[i];
    out.bytes_out += bytes;
    for (const SliceRange& z : t.zero_fill)
      std::memset(base + z.start * scale_num / scale_den, 0, z.length * scale_num / scale_den);
    out.tensors.push_back(LoadedTensor{t.name, to, t.shape, {base, bytes}});
    dests.push_back(Destination{base, t.dtype, to, file_index.at(t.file)});
    for (const ByteRun& r : t.runs) out.bytes_planned += r.length;
  }
  out.reindex();

  map_files(plan, dests, sources, options_);
  std::vector<ReadCost> costs;
  bool any_direct = false;
  for (std::size_t f = 0; f < sources.files.size(); ++f) {
    costs.push_back(sources.direct[f] ? options_.direct_cost
                    : sources.mapped[f] ? options_.mapped_cost
                                        : options_.cached_cost);
    any_direct = any_direct || sources.direct[f].has_value();
  }
  // Room kept in the amplification bound for the alignment of direct reads.
  const std::uint64_t reserve = any_direct ? out.bytes_planned / kDirectMaxPadShare : 0;
  load_internal::ReadTasks read_tasks = load_internal::build_read_tasks(plan, dests, options_, costs, reserve);
  const std::vector<ReadTask>& tasks = read_tasks.tasks;
  out.read_calls = tasks.size();
  out.covered_tensors = read_tasks.covered_tensors;
  const std::vector<bool> use_direct =
      choose_direct(tasks, sources, options_.max_read_amplification * static_cast<double>(out.bytes_planned));
  const std::vector<bool> use_mapped = mapped_tasks(tasks, use_direct, sources);

  // Batches pay off where a worker has a ring or copies out of a leased mapping
  // (one lease check a batch); otherwise one task per claim.
  const bool batched = options_.method == ReadMethod::pread && (options_.io_uring || options_.map_short_reads);
  const std::vector<std::size_t> bounds = load_internal::batch_bounds(
      tasks, batched ? kBatchTasks : 1, !batched ? 0 : any_direct ? kDirectBatchBytes : kBatchBytes);
  const std::size_t batches = bounds.size() - 1;
  std::atomic<std::size_t> next{0};
  std::atomic<std::uint64_t> uring_reads{0}, direct_reads{0}, mapped_reads{0}, bytes_read{0};
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
    WorkerState w;
    // Where the kernel refuses io_uring this worker reads with pread, batch by batch.
    if (batched && options_.io_uring) {
      if (Result<UringReader> r = UringReader::create(kBatchTasks)) w.ring.emplace(std::move(r).value());
    }
    while (!failed.load(std::memory_order_relaxed)) {
      if (options_.cancel != nullptr && options_.cancel->load()) {
        fail(cancelled_error("cancelled"));
        break;
      }
      std::size_t b = next.fetch_add(1);
      if (b >= batches) break;
      Status s = run_batch(std::span(tasks).subspan(bounds[b], bounds[b + 1] - bounds[b]), bounds[b], use_direct,
                           use_mapped, sources, w);
      if (!s) {
        fail(std::move(s).error());
      } else if (options_.progress) {
        report(bounds[b], bounds[b + 1]);
      }
    }
    uring_reads += w.uring_reads;
    direct_reads += w.direct_reads;
    mapped_reads += w.mapped_reads;
    bytes_read += w.bytes_read;
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
  out.direct_reads = direct_reads.load();
  out.mapped_reads = mapped_reads.load();
  out.bytes_read = bytes_read.load();
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return out;
}

}  // namespace hubload
