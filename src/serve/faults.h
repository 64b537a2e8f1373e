// Which injected faults (FaultOptions) apply to one request. Decided once per
// request, before any byte is sent, so a rule's "first K requests" and its
// probability count requests, not chunks.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <random>
#include <string_view>
#include <vector>

#include "hubload/serve.h"

namespace hubload::serve {

struct FaultPlan {
  std::optional<FaultRule> error;          // answer this status instead
  std::optional<std::uint64_t> drop_after; // body bytes, then close
  std::optional<std::uint64_t> stall_after;
  double stall_seconds = 0;
  std::optional<std::uint64_t> corrupt_at; // file offset whose byte is flipped
  bool ignore_range = false;
  std::uint64_t limit_rate = 0;
};

class FaultInjector {
 public:
  explicit FaultInjector(FaultOptions options);
  // Status faults are planned when a request arrives, body faults only when a body
  // is about to be streamed, so a HEAD or a redirect does not use up "first=K".
  enum class Scope { status, body };
  // `subjects`: the decoded request path and the repo file path (either may match).
  FaultPlan plan(Scope scope, std::initializer_list<std::string_view> subjects);
  // Replaces the options; rule counters restart.
  void reset(FaultOptions options);

 private:
  std::mutex mu_;
  FaultOptions options_;                 // guarded by mu_
  std::vector<std::uint64_t> matched_;   // per rule: matching requests so far
  std::mt19937_64 rng_;
};

}  // namespace hubload::serve
