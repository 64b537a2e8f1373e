// Streams a byte range of a file as an HTTP body, in chunks (never the whole
// file in memory), applying the request's FaultPlan: rate limit, stall, drop,
// corrupted byte. Also the Range header rules of hub-protocol.md §3.3.
#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string_view>

#include "hubload/faults.h"

namespace hubload::serve_internal {

struct RangeRequest {
  enum class Kind { none, satisfiable, unsatisfiable } kind = Kind::none;
  std::uint64_t first = 0;
  std::uint64_t last = 0;  // inclusive, clamped to size - 1
};
// One "bytes=a-b", "bytes=a-" or "bytes=-n" range; several ranges or another
// unit are answered with the whole body (RFC 9110 allows ignoring Range).
RangeRequest parse_range(std::string_view header, std::uint64_t size);

// Sleeps that end early when the server stops, so stop() never waits for a stall.
class Sleeper {
 public:
  // false when interrupted by stop().
  bool sleep_for(std::chrono::steady_clock::duration d);
  void stop();

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopped_ = false;  // guarded by mu_
};

// The server's total rate (ServeOptions::max_rate_total): every body chunk
// books its slot on one shared schedule. Thread-safe.
class TotalRate {
 public:
  explicit TotalRate(std::uint64_t bytes_per_second) : rate_(bytes_per_second) {}
  std::uint64_t rate() const { return rate_; }
  // When `bytes` more may leave: no earlier than now, and after every byte booked before.
  std::chrono::steady_clock::time_point book(std::uint64_t bytes);

 private:
  const std::uint64_t rate_;
  std::mutex mu_;
  std::chrono::steady_clock::time_point next_{};  // guarded by mu_
};

struct BodyCounters {
  std::atomic<std::uint64_t>* bytes_sent;
  Sleeper* sleeper;
  TotalRate* total_rate;  // nullptr: no total limit
};

// Sets status (200/206/416), Content-Range, Accept-Ranges and the streamed body
// of `path` for the request's Range header. An empty file gets an empty body.
void serve_file_body(const httplib::Request& req, httplib::Response& res, const std::filesystem::path& path,
                     std::uint64_t size, const FaultPlan& plan, BodyCounters counters);

}  // namespace hubload::serve_internal
