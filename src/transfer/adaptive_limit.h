// How many connections a download keeps open: start at the configured count,
// add connections while the total rate still rises with them, up to a cap, and
// shed them where it does not, or when the server says it is overloaded
// (429/503). Pure: the caller passes the time and the byte count, so the policy
// is table-tested without a network or a clock. ConnectionBudget (transfer.h)
// drives one per download.
#pragma once

#include <chrono>
#include <cstdint>

namespace hubload::transfer_internal {

class AdaptiveLimit {
 public:
  using Clock = std::chrono::steady_clock;

  struct Params {
    // Rate is measured over epochs this long; the epoch after a change is not
    // measured, because new connections need a moment (TCP slow start, their
    // first range) before they add to the rate.
    std::chrono::milliseconds epoch{400};
    // A probe is kept only if the rate rose by at least this fraction.
    double min_gain = 0.08;
    // Epochs to wait before the next probe after one that did not pay (doubled
    // each time it fails again, up to max_hold) and after an overload.
    int hold = 4;
    int max_hold = 32;
  };

  // `max` <= `initial`: a fixed limit that never moves (overloads still shed,
  // and recover to `initial`).
  AdaptiveLimit(int initial, int max, Params params);
  AdaptiveLimit(int initial, int max) : AdaptiveLimit(initial, max, Params{}) {}

  int limit() const { return limit_; }
  int max() const { return max_; }

  // `total_bytes`: every byte received so far (monotonic); `saturated`: every
  // connection allowed was in use at this moment (more of them could have been
  // used). Call often (every event-loop turn); it acts once per epoch. An
  // epoch counts as saturated when three samples in four were (a connection
  // handed from one range to the next is briefly free).
  void sample(Clock::time_point now, std::uint64_t total_bytes, bool saturated);
  // A 429 or 503: halve the limit at once and hold before probing again. The
  // answers of every connection to one overload come together: those within an
  // epoch of the last one count once.
  void overloaded(Clock::time_point now);

 private:
  void end_epoch(double rate, bool saturated);
  void set_limit(int limit);

  Params params_;
  int max_;
  int floor_max_;  // what a fixed limit recovers to after an overload
  int limit_;
  bool started_ = false;
  bool overloaded_once_ = false;
  Clock::time_point last_overload_{};
  Clock::time_point epoch_start_{};
  std::uint64_t epoch_bytes_ = 0;  // total_bytes at epoch_start_
  int epoch_samples_ = 0;
  int epoch_saturated_samples_ = 0;
  int settle_ = 0;      // epochs to skip after a change
  int hold_left_ = 0;   // epochs before the next probe
  int next_hold_ = 0;   // hold after a probe that did not pay
  int probe_from_ = 0;  // the limit before the probe being measured; 0: none
  double base_rate_ = 0;  // the rate at probe_from_
};

}  // namespace hubload::transfer_internal
