// Private: a RankPlan's byte runs grouped into read tasks — one pread (or one
// copy out of a mapping) each, sized for the I/O threads — and the cost model
// that picks, per tensor, exact-run reads or covering reads within the rank's
// read-amplification bound.
#pragma once

#include <cstdint>
#include <vector>

#include "hubload/load.h"

namespace hubload::load_internal {

// `length` bytes at `task_offset` within the task's range go to `dest`,
// converted from `from` to `to` when they differ.
struct Piece {
  std::uint64_t task_offset = 0;
  std::uint64_t length = 0;
  std::byte* dest = nullptr;
  DType from = DType::F32;
  DType to = DType::F32;
};

struct ReadTask {
  std::size_t file = 0;  // index into the loader's open files
  std::uint64_t offset = 0;
  std::uint64_t length = 0;  // covering range: pieces plus the gaps between them
  std::uint64_t gap_bytes = 0;  // of `length`, the bytes read only to be skipped
  std::vector<Piece> pieces;
  // The task is a single piece filling the destination as is: read straight into it.
  bool direct() const {
    return pieces.size() == 1 && pieces[0].task_offset == 0 && pieces[0].length == length &&
           pieces[0].from == pieces[0].to;
  }
};

// One destination per tensor of the plan, in order (already converted sizes).
struct Destination {
  std::byte* base = nullptr;
  DType from = DType::F32;
  DType to = DType::F32;
  std::size_t file = 0;
};

struct ReadTasks {
  std::vector<ReadTask> tasks;
  std::uint64_t covered_tensors = 0;  // tensors read as covering ranges
};

// `cost[f]`: what a read of file f costs (page cache or direct). With the
// pread method, tensors whose covering reads the cost model finds cheaper are
// covered, the best gain per extra byte first, while the bytes of all tasks stay
// within max_read_amplification x the plan's, less `reserve_bytes` (kept for the
// alignment of direct reads). The mmap method reads exact runs only.
ReadTasks build_read_tasks(const RankPlan& plan, const std::vector<Destination>& dests, const LoadOptions& options,
                           const std::vector<ReadCost>& cost, std::uint64_t reserve_bytes = 0);

// Consecutive tasks grouped for one claim by a worker (one io_uring submission):
// a batch closes at `max_tasks` tasks or once it holds `max_bytes`, so long
// chunks are still shared among the threads. Returns each batch's first task
// index, then tasks.size().
std::vector<std::size_t> batch_bounds(const std::vector<ReadTask>& tasks, std::size_t max_tasks,
                                      std::uint64_t max_bytes);

}  // namespace hubload::load_internal
