// copy_mapped: one MADV_POPULATE_READ per group of nearby tasks (a row-parallel
// slice's rows are 1-3.5 KiB, W rows apart: populating each alone would cost the
// system call per row that the mapping is there to save), then memcpy.
#include "load/mapped_reads.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace hubload::load_internal {
namespace {

// A group's span is populated at once while it is at most this many times the
// bytes its tasks read; sparser tasks are populated one by one.
constexpr std::uint64_t kMaxSpanPerByte = 32;

bool populate(const MappedFile& map, std::uint64_t offset, std::uint64_t length) {
  if (length == 0) return true;
  const auto page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
  const std::uint64_t first = offset / page * page;
  auto* at = const_cast<std::byte*>(map.bytes().data()) + first;
  return ::madvise(at, offset + length - first, MADV_POPULATE_READ) == 0;
}

bool within(const ReadTask& t, const MappedFile& map) {
  return t.offset <= map.size() && t.length <= map.size() - t.offset;
}

}  // namespace

Status deliver(const Piece& p, const std::byte* src) {
  if (p.from == p.to) {
    std::memcpy(p.dest, src, p.length);
    return ok();
  }
  std::uint64_t out_len = p.length / (dtype_bits(p.from) / 8) * (dtype_bits(p.to) / 8);
  return convert_floats(p.from, p.to, {src, p.length}, {p.dest, out_len});
}

Status copy_mapped(std::span<const ReadTask> batch, const std::vector<const MappedFile*>& maps,
                   std::vector<bool>& done) {
  done.assign(batch.size(), false);
  auto mapped = [&](std::size_t i) { return maps[batch[i].file] != nullptr && within(batch[i], *maps[batch[i].file]); };
  for (std::size_t i = 0; i < batch.size();) {
    if (!mapped(i)) {
      ++i;
      continue;
    }
    // The group: the tasks from i of the same file, all within its mapping.
    const MappedFile& map = *maps[batch[i].file];
    std::size_t end = i + 1;
    while (end < batch.size() && batch[end].file == batch[i].file && mapped(end)) ++end;
    std::uint64_t lo = UINT64_MAX, hi = 0, bytes = 0;
    for (std::size_t k = i; k < end; ++k) {
      lo = std::min(lo, batch[k].offset);
      hi = std::max(hi, batch[k].offset + batch[k].length);
      bytes += batch[k].length;
    }
    const bool whole = hi - lo <= kMaxSpanPerByte * std::max<std::uint64_t>(bytes, 1) && populate(map, lo, hi - lo);
    for (std::size_t k = i; k < end; ++k) {
      const ReadTask& task = batch[k];
      if (!whole && !populate(map, task.offset, task.length)) continue;
      const std::byte* base = map.bytes().data() + task.offset;
      for (const Piece& p : task.pieces) HUBLOAD_TRY(deliver(p, base + p.task_offset));
      done[k] = true;
    }
    i = end;
  }
  return ok();
}

}  // namespace hubload::load_internal
