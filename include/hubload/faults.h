// Injected faults, one vocabulary for hubload's own server (serve.h,
// `hubload serve --inject-fault`) and for the test transport that injects
// faults on the client side of the Transport seam (tests/support). A rule
// names what goes wrong; FaultInjector decides, per request, which rules apply.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "hubload/error.h"

#pragma GCC visibility push(default)  // public API: exported by the shared libraries (see CMake)

namespace hubload {

// One injected fault. A rule applies to a request whose decoded path (or, for
// a file body, whose repo file path) matches `path_pattern` (fnmatch, `*`
// crosses `/`), with `probability`, and only to the first `first_requests`
// matching requests when that is >= 0.
struct FaultRule {
  enum class Kind {
    drop,          // close the connection after `bytes` body bytes
    stall,         // after `bytes` body bytes, send nothing for `seconds`
    http_error,    // answer `status` (5xx or 429) instead of the request
    ignore_range,  // answer a Range request with 200 and the whole body
    corrupt,       // flip the body byte at file offset `bytes`
  };
  Kind kind = Kind::http_error;
  std::string path_pattern = "*";
  std::uint64_t bytes = 0;
  double seconds = 0;
  int status = 503;
  int retry_after_s = 1;  // 429/503: Retry-After and RateLimit "t=" value
  double probability = 1.0;
  int first_requests = -1;
};

// Parses "KIND[:ARG][,key=value...]" as given to `--inject-fault`:
//   drop:BYTES  stall:SECONDS[,after=BYTES]  status:CODE[,retry=SECONDS]
//   ignore-range  corrupt:OFFSET
// common keys: path=GLOB, prob=P (0..1), first=K.
Result<FaultRule> parse_fault_rule(std::string_view spec);

struct FaultOptions {
  std::uint64_t limit_rate = 0;  // body bytes per second per response (0 = unlimited)
  std::vector<FaultRule> rules;
  std::uint64_t seed = 1;        // for `probability`
};

// Which rules apply to one request. Decided once per request, before any byte
// is sent, so a rule's "first K requests" and its probability count requests,
// not chunks.
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

}  // namespace hubload

#pragma GCC visibility pop
