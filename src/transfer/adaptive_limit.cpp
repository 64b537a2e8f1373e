#include "transfer/adaptive_limit.h"

#include <algorithm>

namespace hubload::transfer_internal {

AdaptiveLimit::AdaptiveLimit(int initial, int max, Params params)
    : params_(params), floor_max_(std::max(1, initial)), limit_(std::max(1, initial)) {
  max_ = std::max(limit_, max);
  next_hold_ = params_.hold;
}

void AdaptiveLimit::set_limit(int limit) {
  limit = std::clamp(limit, 1, max_);
  if (limit == limit_) return;
  limit_ = limit;
  settle_ = 1;
}

void AdaptiveLimit::sample(Clock::time_point now, std::uint64_t total_bytes, bool saturated) {
  if (!started_) {
    started_ = true;
    epoch_start_ = now;
    epoch_bytes_ = total_bytes;
    return;
  }
  ++epoch_samples_;
  if (saturated) ++epoch_saturated_samples_;
  const auto elapsed = now - epoch_start_;
  if (elapsed < params_.epoch) return;
  const double seconds = std::chrono::duration<double>(elapsed).count();
  const double rate = static_cast<double>(total_bytes - epoch_bytes_) / seconds;
  const bool was_saturated = epoch_saturated_samples_ * 4 >= epoch_samples_ * 3;
  epoch_start_ = now;
  epoch_bytes_ = total_bytes;
  epoch_samples_ = epoch_saturated_samples_ = 0;
  end_epoch(rate, was_saturated);
}

void AdaptiveLimit::end_epoch(double rate, bool saturated) {
  if (settle_ > 0) {
    --settle_;
    return;
  }
  if (probe_from_ > 0) {
    // Measuring the probe: keep it if the rate rose with it, else shed back.
    if (rate >= base_rate_ * (1.0 + params_.min_gain)) {
      next_hold_ = params_.hold;
      probe_from_ = 0;
    } else {
      int from = probe_from_;
      probe_from_ = 0;
      set_limit(from);
      hold_left_ = next_hold_;
      next_hold_ = std::min(params_.max_hold, next_hold_ * 2);
      return;
    }
  }
  if (hold_left_ > 0) {
    --hold_left_;
    return;
  }
  // Probe only while every connection allowed is busy: with fewer files or
  // ranges than connections, more of them would add nothing to measure.
  if (!saturated || rate <= 0) return;
  if (limit_ < floor_max_ && max_ == floor_max_) {
    set_limit(limit_ + 1);  // a fixed limit recovering from an overload, one step an epoch
    return;
  }
  if (limit_ >= max_) return;
  probe_from_ = limit_;
  base_rate_ = rate;
  set_limit(limit_ + std::max(1, limit_ / 2));
}

void AdaptiveLimit::overloaded(Clock::time_point now) {
  if (overloaded_once_ && now - last_overload_ < params_.epoch) return;
  overloaded_once_ = true;
  last_overload_ = now;
  probe_from_ = 0;
  set_limit(std::max(1, limit_ / 2));
  hold_left_ = params_.hold;
}

}  // namespace hubload::transfer_internal
