#include "load/read_tasks.h"

#include <algorithm>
#include <map>

namespace hubload::load_internal {
namespace {

// Covering reads are cut into windows of at most this: copying rows out of a
// window is faster while it stays in the CPU's caches.
constexpr std::uint64_t kCoverWindow = 1u << 20;

struct Cuts {
  std::uint64_t chunk = 8;         // tasks end on 8-byte multiples so a cut never splits an element
  std::uint64_t window = 8;        // covering windows: min(chunk, kCoverWindow)
  std::uint64_t max_gap = 0;
  double max_overread = 0;
  const std::vector<ReadCost>* cost = nullptr;  // per file; null (mmap): merges cost nothing
};

// A merged task is read into a bounce buffer and copied out, so merging pays the
// gap and a second copy of the bytes that would have been read in place: worth it
// while that costs less than the read it saves. Never for a long read: one read
// costs ~1.7 us, copying a 4 MiB chunk again ~1 ms plus the buffer's page faults.
bool worth_merging(const ReadTask& last, std::uint64_t gap, std::uint64_t length, const Cuts& c) {
  if (c.cost == nullptr) return true;
  const ReadCost& k = (*c.cost)[last.file];
  const auto bounced = static_cast<double>(length + (last.direct() ? last.length : 0));
  return k.per_read_ns >= static_cast<double>(gap) * k.per_byte_ns + bounced * k.copy_per_byte_ns;
}

Piece piece_of(const ByteRun& run, std::uint64_t done, std::uint64_t length, const Destination& d) {
  std::uint64_t dest_offset = run.dest_offset + done;
  // Converted tensors: destination offsets scale with the element size.
  if (d.from != d.to) dest_offset = dest_offset / (dtype_bits(d.from) / 8) * (dtype_bits(d.to) / 8);
  return Piece{0, length, d.base + dest_offset, d.from, d.to};
}

// The tensor's runs as they are, cut into chunks, neighbours merged across gaps
// of at most max_gap while a task's gaps stay within max_overread of what it delivers.
void add_exact(std::vector<ReadTask>& tasks, const RankTensor& tensor, const Destination& d, const Cuts& c) {
  for (const ByteRun& run : tensor.runs) {
    for (std::uint64_t done = 0; done < run.length; done += c.chunk) {
      std::uint64_t offset = run.file_offset + done, length = std::min(c.chunk, run.length - done);
      Piece piece = piece_of(run, done, length, d);
      if (!tasks.empty()) {
        ReadTask& last = tasks.back();
        std::uint64_t end = last.offset + last.length;
        std::uint64_t gap = offset - end, gaps = last.gap_bytes + gap;
        if (last.file == d.file && offset >= end && gap <= c.max_gap && offset + length - last.offset <= c.chunk &&
            static_cast<double>(gaps) <= c.max_overread * static_cast<double>(last.length - last.gap_bytes + length) &&
            worth_merging(last, gap, length, c)) {
          piece.task_offset = offset - last.offset;
          last.length = offset + length - last.offset;
          last.gap_bytes = gaps;
          last.pieces.push_back(piece);
          continue;
        }
      }
      tasks.push_back(ReadTask{d.file, offset, length, 0, {piece}});
    }
  }
}

// The tensor's span read in windows of `window` bytes from its first run, each
// trimmed to the pieces it holds (a window of gap only is not read).
void add_covering(std::vector<ReadTask>& tasks, const RankTensor& tensor, const Destination& d, const Cuts& c) {
  std::vector<const ByteRun*> runs;
  for (const ByteRun& r : tensor.runs)
    if (r.length > 0) runs.push_back(&r);
  if (runs.empty()) return;
  std::sort(runs.begin(), runs.end(), [](const ByteRun* a, const ByteRun* b) { return a->file_offset < b->file_offset; });
  const std::uint64_t lo = runs.front()->file_offset;
  std::map<std::uint64_t, ReadTask> windows;
  for (const ByteRun* run : runs) {
    for (std::uint64_t pos = run->file_offset, end = run->file_offset + run->length; pos < end;) {
      const std::uint64_t w = (pos - lo) / c.window, w_end = lo + (w + 1) * c.window;
      const std::uint64_t length = std::min(end, w_end) - pos;
      ReadTask& task = windows[w];
      task.file = d.file;
      task.pieces.push_back(piece_of(*run, pos - run->file_offset, length, d));
      task.pieces.back().task_offset = pos;  // absolute for now
      pos += length;
    }
  }
  for (auto& [w, task] : windows) {
    std::uint64_t first = UINT64_MAX, last = 0, delivered = 0;
    for (const Piece& p : task.pieces) {
      first = std::min(first, p.task_offset);
      last = std::max(last, p.task_offset + p.length);
      delivered += p.length;
    }
    for (Piece& p : task.pieces) p.task_offset -= first;
    task.offset = first;
    task.length = last - first;
    task.gap_bytes = task.length > delivered ? task.length - delivered : 0;
    tasks.push_back(std::move(task));
  }
}

// At most one task per chunk of each run: reserved up front, since growing a
// vector of ~33,000 tasks (a W = 8 rank) moved them and faulted in fresh pages
// for every doubling, which took a good part of the plan's time.
std::size_t most_tasks(const RankTensor& tensor, const Cuts& c) {
  std::size_t n = 0;
  for (const ByteRun& run : tensor.runs) n += static_cast<std::size_t>((run.length + c.chunk - 1) / c.chunk);
  return n;
}

std::vector<ReadTask> build(const RankPlan& plan, const std::vector<Destination>& dests, const Cuts& c,
                            const std::vector<bool>& covered) {
  std::vector<ReadTask> tasks;
  std::size_t most = 0;
  for (const RankTensor& tensor : plan.tensors) most += most_tasks(tensor, c);
  tasks.reserve(most);
  for (std::size_t t = 0; t < plan.tensors.size(); ++t) {
    if (covered[t]) {
      add_covering(tasks, plan.tensors[t], dests[t], c);
    } else {
      add_exact(tasks, plan.tensors[t], dests[t], c);
    }
  }
  return tasks;
}

struct Estimate {
  std::uint64_t reads = 0, bytes = 0, copied = 0;
  double cost(const ReadCost& k) const {
    return static_cast<double>(reads) * k.per_read_ns + static_cast<double>(bytes) * k.per_byte_ns +
           static_cast<double>(copied) * k.copy_per_byte_ns;
  }
};

Estimate estimate(const std::vector<ReadTask>& tasks) {
  Estimate e;
  for (const ReadTask& t : tasks) {
    ++e.reads;
    e.bytes += t.length;
    if (!t.direct()) e.copied += t.length - t.gap_bytes;
  }
  return e;
}

std::uint64_t total_bytes(const std::vector<ReadTask>& tasks) {
  std::uint64_t n = 0;
  for (const ReadTask& t : tasks) n += t.length;
  return n;
}

}  // namespace

ReadTasks build_read_tasks(const RankPlan& plan, const std::vector<Destination>& dests, const LoadOptions& options,
                           const std::vector<ReadCost>& cost, std::uint64_t reserve_bytes) {
  Cuts c;
  c.chunk = std::max<std::uint64_t>(options.chunk_bytes / 8 * 8, 8);
  c.window = std::min(c.chunk, kCoverWindow);
  c.max_gap = options.max_gap_bytes;
  c.max_overread = options.max_overread;
  if (options.method == ReadMethod::pread) c.cost = &cost;
  std::vector<bool> covered(plan.tensors.size(), false);
  ReadTasks out;
  out.tasks = build(plan, dests, c, covered);
  if (options.method != ReadMethod::pread) return out;

  std::uint64_t planned = 0;
  for (const RankTensor& t : plan.tensors)
    for (const ByteRun& r : t.runs) planned += r.length;
  const double allowed = options.max_read_amplification * static_cast<double>(planned) - static_cast<double>(reserve_bytes);
  struct Candidate {
    std::size_t tensor;
    double gain_per_byte;
    std::uint64_t extra;
  };
  // No choice may add more than this beyond the share. A tensor whose covering
  // reads exceed it even against exact reads with every gap merge allowed is not
  // estimated further: building its exact reads (thousands of rows) was most of a
  // plan's time, and at W = 8 under the default bound no tensor fits.
  const double room = allowed - static_cast<double>(planned);
  std::vector<Candidate> candidates;
  for (std::size_t t = 0; t < plan.tensors.size(); ++t) {
    const RankTensor& tensor = plan.tensors[t];
    if (tensor.runs.size() < 2) continue;  // nothing to cover
    std::vector<ReadTask> exact, covering;
    add_covering(covering, tensor, dests[t], c);
    const Estimate v = estimate(covering);
    std::uint64_t delivered = 0;
    for (const ByteRun& r : tensor.runs) delivered += r.length;
    if (static_cast<double>(v.bytes) - (1 + c.max_overread) * static_cast<double>(delivered) > room) continue;
    exact.reserve(most_tasks(tensor, c));
    add_exact(exact, tensor, dests[t], c);
    const Estimate e = estimate(exact);
    const ReadCost& k = cost[dests[t].file];
    const double gain = e.cost(k) - v.cost(k);
    if (gain <= 0) continue;
    const std::uint64_t extra = v.bytes > e.bytes ? v.bytes - e.bytes : 0;
    candidates.push_back({t, gain / static_cast<double>(std::max<std::uint64_t>(extra, 1)), extra});
  }
  if (candidates.empty()) return out;
  // Room left by the exact reads (gap merges take theirs first, within max_overread).
  std::stable_sort(candidates.begin(), candidates.end(),
                   [](const Candidate& a, const Candidate& b) { return a.gain_per_byte > b.gain_per_byte; });
  double left = allowed - static_cast<double>(total_bytes(out.tasks));
  std::vector<std::size_t> chosen;
  for (const Candidate& cand : candidates) {
    if (static_cast<double>(cand.extra) > left) continue;
    left -= static_cast<double>(cand.extra);
    covered[cand.tensor] = true;
    chosen.push_back(cand.tensor);
  }
  if (chosen.empty()) return out;
  // The estimates saw each tensor alone; merges across tensors can differ, so the
  // bound is checked on the real tasks, dropping the least profitable choice until it holds.
  for (;;) {
    std::vector<ReadTask> tasks = build(plan, dests, c, covered);
    if (static_cast<double>(total_bytes(tasks)) <= allowed || chosen.empty()) {
      out.tasks = std::move(tasks);
      out.covered_tensors = chosen.size();
      return out;
    }
    covered[chosen.back()] = false;
    chosen.pop_back();
  }
}

std::vector<std::size_t> batch_bounds(const std::vector<ReadTask>& tasks, std::size_t max_tasks,
                                      std::uint64_t max_bytes) {
  std::vector<std::size_t> bounds{0};
  std::uint64_t bytes = 0;
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    bytes += tasks[i].length;
    if (i + 1 - bounds.back() >= max_tasks || bytes >= max_bytes) {
      bounds.push_back(i + 1);
      bytes = 0;
    }
  }
  if (bounds.back() != tasks.size()) bounds.push_back(tasks.size());
  return bounds;
}

}  // namespace hubload::load_internal
