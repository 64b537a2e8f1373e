// ConnectionBudget (transfer.h): slots counted under one mutex, the count
// itself chosen by an AdaptiveLimit fed with the bytes every user records.
#include "hubload/transfer.h"
#include "transfer/adaptive_limit.h"

namespace hubload {

ConnectionBudget::ConnectionBudget(int initial, int max)
    : limit_(std::make_unique<transfer_internal::AdaptiveLimit>(initial, max)) {}

ConnectionBudget::~ConnectionBudget() = default;

bool ConnectionBudget::try_acquire() {
  std::lock_guard lock(mu_);
  if (in_use_ >= limit_->limit()) return false;
  ++in_use_;
  return true;
}

void ConnectionBudget::release() {
  std::lock_guard lock(mu_);
  if (in_use_ > 0) --in_use_;
}

int ConnectionBudget::slots() const {
  std::lock_guard lock(mu_);
  return limit_->limit();
}

int ConnectionBudget::max_slots() const {
  std::lock_guard lock(mu_);
  return limit_->max();
}

void ConnectionBudget::record(std::uint64_t bytes) {
  std::lock_guard lock(mu_);
  bytes_ += bytes;
  limit_->sample(std::chrono::steady_clock::now(), bytes_, in_use_ >= limit_->limit());
}

void ConnectionBudget::overloaded() {
  std::lock_guard lock(mu_);
  limit_->overloaded(std::chrono::steady_clock::now());
}

}  // namespace hubload
