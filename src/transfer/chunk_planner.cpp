#include "transfer/chunk_planner.h"

#include <algorithm>
#include <vector>

namespace hubload::transfer_internal {

ChunkPlanner::ChunkPlanner(std::uint64_t size, std::uint64_t piece, std::uint64_t min_split)
    : size_(size), piece_(std::max<std::uint64_t>(piece, 1)), min_split_(std::max<std::uint64_t>(min_split, 1)) {}

std::optional<ByteRange> ChunkPlanner::first_gap() const {
  std::vector<ByteRange> taken = done_.ranges();
  for (const auto& [id, s] : slots_) {
    if (s.pos < s.end) taken.push_back({s.pos, s.end});
  }
  std::sort(taken.begin(), taken.end(), [](const ByteRange& a, const ByteRange& b) { return a.begin < b.begin; });
  std::uint64_t cursor = 0;
  for (const auto& r : taken) {
    if (r.begin > cursor) return ByteRange{cursor, r.begin};
    cursor = std::max(cursor, r.end);
  }
  if (cursor < size_) return ByteRange{cursor, size_};
  return std::nullopt;
}

bool ChunkPlanner::has_unassigned() const { return first_gap().has_value(); }

std::optional<ChunkPlanner::Assignment> ChunkPlanner::assign(std::uint64_t max_piece) {
  if (auto gap = first_gap()) {
    const std::uint64_t piece = std::max(std::min(piece_, max_piece), min_split_);
    ByteRange r{gap->begin, std::min(gap->end, gap->begin + piece)};
    // Don't leave a sliver behind that is too small to be worth its own request.
    if (gap->end - r.end < min_split_) r.end = gap->end;
    int id = next_id_++;
    slots_[id] = {r.begin, r.end};
    return Assignment{id, r, std::nullopt};
  }
  auto largest = slots_.end();
  for (auto it = slots_.begin(); it != slots_.end(); ++it) {
    if (largest == slots_.end() || it->second.end - it->second.pos > largest->second.end - largest->second.pos) {
      largest = it;
    }
  }
  if (largest == slots_.end()) return std::nullopt;
  Slot& s = largest->second;
  std::uint64_t remaining = s.end - s.pos;
  if (remaining < 2 * min_split_) return std::nullopt;
  std::uint64_t mid = s.pos + remaining / 2;
  ByteRange r{mid, s.end};
  s.end = mid;
  int from = largest->first;
  int id = next_id_++;
  slots_[id] = {r.begin, r.end};
  return Assignment{id, r, from};
}

std::uint64_t ChunkPlanner::advance(int id, std::uint64_t pos) {
  auto it = slots_.find(id);
  if (it == slots_.end()) return 0;
  Slot& s = it->second;
  pos = std::min(pos, s.end);
  if (pos <= s.pos) return 0;
  std::uint64_t before = done_.covered();
  done_.add({s.pos, pos});
  s.pos = pos;
  return done_.covered() - before;
}

std::uint64_t ChunkPlanner::end_of(int id) const {
  auto it = slots_.find(id);
  return it == slots_.end() ? 0 : it->second.end;
}

std::uint64_t ChunkPlanner::pos_of(int id) const {
  auto it = slots_.find(id);
  return it == slots_.end() ? 0 : it->second.pos;
}

void ChunkPlanner::release(int id) { slots_.erase(id); }

}  // namespace hubload::transfer_internal
