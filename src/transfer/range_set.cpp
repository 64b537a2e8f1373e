#include "transfer/range_set.h"

#include <algorithm>

namespace hubload::transfer_internal {

void RangeSet::add(ByteRange r) {
  if (r.begin >= r.end) return;
  auto it = map_.upper_bound(r.begin);
  if (it != map_.begin()) {
    auto prev = std::prev(it);
    if (prev->second >= r.begin) {  // overlaps or touches the previous range
      r.begin = prev->first;
      r.end = std::max(r.end, prev->second);
      it = map_.erase(prev);
    }
  }
  while (it != map_.end() && it->first <= r.end) {
    r.end = std::max(r.end, it->second);
    it = map_.erase(it);
  }
  map_.emplace(r.begin, r.end);
}

void RangeSet::add(std::span<const ByteRange> ranges) {
  for (const ByteRange& r : ranges) add(r);
}

void RangeSet::add(const RangeSet& other) {
  for (const auto& [b, e] : other.map_) add(ByteRange{b, e});
}

void RangeSet::remove(const RangeSet& other) {
  for (const auto& [b, e] : other.map_) remove(ByteRange{b, e});
}

void RangeSet::remove(ByteRange r) {
  if (r.begin >= r.end) return;
  auto it = map_.upper_bound(r.begin);
  if (it != map_.begin()) --it;
  while (it != map_.end() && it->first < r.end) {
    auto [b, e] = *it;
    if (e <= r.begin) {
      ++it;
      continue;
    }
    it = map_.erase(it);
    if (b < r.begin) map_.emplace(b, r.begin);
    if (e > r.end) map_.emplace(r.end, e);
  }
}

std::uint64_t RangeSet::covered() const {
  std::uint64_t n = 0;
  for (const auto& [b, e] : map_) n += e - b;
  return n;
}

std::uint64_t RangeSet::prefix_end() const {
  if (map_.empty() || map_.begin()->first != 0) return 0;
  return map_.begin()->second;
}

bool RangeSet::contains(ByteRange r) const {
  if (r.begin >= r.end) return true;
  auto it = map_.upper_bound(r.begin);
  if (it == map_.begin()) return false;
  --it;
  return it->second >= r.end;
}

std::vector<ByteRange> RangeSet::ranges() const {
  std::vector<ByteRange> out;
  out.reserve(map_.size());
  for (const auto& [b, e] : map_) out.push_back({b, e});
  return out;
}

}  // namespace hubload::transfer_internal
