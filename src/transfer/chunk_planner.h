// Decides which byte range each connection of one file fetches next. Pure: no
// I/O, so the adaptive splitting is table-tested.
//
// A new connection first gets the lowest unassigned gap (at most `piece` bytes).
// When nothing is unassigned, it takes the upper half of the largest range still
// in flight (aria2-style), so the tail of a file is shared by every free
// connection instead of waiting on one slow stream. Ranges are never split below
// `min_split` bytes per half.
#pragma once

#include <cstdint>
#include <map>
#include <optional>

#include "transfer/range_set.h"

namespace hubload::transfer_internal {

class ChunkPlanner {
 public:
  ChunkPlanner(std::uint64_t size, std::uint64_t piece, std::uint64_t min_split);

  struct Assignment {
    int id = 0;
    ByteRange range;
    std::optional<int> split_from;  // the in-flight slot whose end was lowered
  };

  // Bytes already on disk (a resumed partial).
  void mark_done(ByteRange r) { done_.add(r); }
  // The next range to fetch, or nothing if every byte is done or in flight and
  // no in-flight range is worth splitting. A range from a gap is at most
  // `max_piece` bytes (never under min_split, never leaving a sliver).
  std::optional<Assignment> assign(std::uint64_t max_piece = ~std::uint64_t{0});
  // Slot `id` wrote bytes up to `pos` (exclusive). Returns the bytes newly done.
  std::uint64_t advance(int id, std::uint64_t pos);
  // Current end of slot `id` (lowered when another connection took its upper half).
  std::uint64_t end_of(int id) const;
  std::uint64_t pos_of(int id) const;
  // Slot `id` is over (finished or failed); what it did not fetch is unassigned again.
  void release(int id);
  // Forget everything done (the server ignored Range; the file restarts from 0).
  void reset_done() { done_.clear(); }

  bool complete() const { return done_.covered() == size_; }
  bool has_unassigned() const;
  const RangeSet& done() const { return done_; }
  std::uint64_t size() const { return size_; }
  std::size_t in_flight() const { return slots_.size(); }

 private:
  struct Slot {
    std::uint64_t pos;
    std::uint64_t end;
  };
  std::optional<ByteRange> first_gap() const;

  std::uint64_t size_;
  std::uint64_t piece_;
  std::uint64_t min_split_;
  RangeSet done_;
  std::map<int, Slot> slots_;
  int next_id_ = 1;
};

}  // namespace hubload::transfer_internal
