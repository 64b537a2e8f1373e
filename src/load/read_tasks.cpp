#include "load/read_tasks.h"

namespace hubload::load_internal {

std::vector<ReadTask> build_read_tasks(const RankPlan& plan, const std::vector<Destination>& dests,
                                       const LoadOptions& options) {
  std::vector<ReadTask> tasks;
  // Chunks end on 8-byte multiples so a cut never splits an element.
  const std::uint64_t chunk = std::max<std::uint64_t>(options.chunk_bytes / 8 * 8, 8);
  for (std::size_t t = 0; t < plan.tensors.size(); ++t) {
    const RankTensor& tensor = plan.tensors[t];
    const Destination& d = dests[t];
    const std::uint64_t from_size = dtype_bits(d.from) / 8, to_size = dtype_bits(d.to) / 8;
    for (const ByteRun& run : tensor.runs) {
      for (std::uint64_t done = 0; done < run.length; done += chunk) {
        std::uint64_t offset = run.file_offset + done, length = std::min(chunk, run.length - done);
        std::uint64_t dest_offset = run.dest_offset + done;
        // Converted tensors: destination offsets scale with the element size.
        if (d.from != d.to) dest_offset = dest_offset / from_size * to_size;
        Piece piece{0, length, d.base + dest_offset, d.from, d.to};
        if (!tasks.empty()) {
          ReadTask& last = tasks.back();
          std::uint64_t end = last.offset + last.length;
          std::uint64_t gap = offset - end, gaps = last.gap_bytes + gap;
          if (last.file == d.file && offset >= end && gap <= options.max_gap_bytes &&
              offset + length - last.offset <= chunk &&
              static_cast<double>(gaps) <= options.max_overread * static_cast<double>(last.length - last.gap_bytes + length)) {
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
  return tasks;
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
