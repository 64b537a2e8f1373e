// A set of half-open byte ranges [begin, end), kept merged. The planner and the
// journal use it to say which bytes of a file are on disk.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <vector>

namespace hubload::transfer_internal {

struct ByteRange {
  std::uint64_t begin = 0;
  std::uint64_t end = 0;  // exclusive
  std::uint64_t size() const { return end - begin; }
  friend bool operator==(const ByteRange&, const ByteRange&) = default;
};

class RangeSet {
 public:
  void add(ByteRange r);
  void add(std::span<const ByteRange> ranges);
  void add(const RangeSet& other);
  // Takes [r.begin, r.end) out, splitting a range that straddles it.
  void remove(ByteRange r);
  void remove(const RangeSet& other);
  void clear() { map_.clear(); }
  bool empty() const { return map_.empty(); }
  std::uint64_t covered() const;
  // End of the range starting at 0, or 0 if byte 0 is missing.
  std::uint64_t prefix_end() const;
  bool contains(ByteRange r) const;
  std::vector<ByteRange> ranges() const;

 private:
  std::map<std::uint64_t, std::uint64_t> map_;  // begin -> end, disjoint, non-adjacent
};

}  // namespace hubload::transfer_internal
