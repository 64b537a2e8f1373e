// A tiny HTTP/1.1 origin on 127.0.0.1 (random free port) serving in-memory
// files with Range support and scripted faults, for the transfer engine's
// tests. One thread per connection; every response closes its connection.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace hubload::testing {

struct OriginFaults {
  bool ignore_range = false;          // answer 200 with the whole body to a Range request
  int error_first = 0;                // the first N requests get `error_status`
  int error_status = 503;
  std::string error_headers = {};     // e.g. "Retry-After: 1\r\n"
  int drop_first = 0;                 // the first N bodies stop after `drop_after` bytes
  std::uint64_t drop_after = 0;
  int stall_first = 0;                // the first N bodies stall after `drop_after` bytes
  int stall_ms = 0;
  int corrupt_first = 0;              // the first N bodies have one byte flipped
  std::uint64_t bytes_per_second = 0; // per connection; 0 = unlimited
};

class TransferOrigin {
 public:
  TransferOrigin();
  ~TransferOrigin();
  TransferOrigin(const TransferOrigin&) = delete;
  TransferOrigin& operator=(const TransferOrigin&) = delete;

  void add_file(const std::string& path, std::string content);
  void set_faults(const OriginFaults& f);
  std::string url(const std::string& path) const;
  std::uint64_t body_bytes_sent() const { return body_bytes_.load(); }
  int requests() const { return requests_.load(); }
  // Most requests in flight at once since start. Every response closes its
  // connection, so this is also the most connections busy at once.
  int max_concurrent_requests() const { return max_open_.load(); }

 private:
  void accept_loop();
  void serve(int fd);

  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<std::thread> workers_;
  std::map<std::string, std::shared_ptr<const std::string>> files_;
  OriginFaults faults_;
  int errors_sent_ = 0, drops_sent_ = 0, stalls_sent_ = 0, corrupt_sent_ = 0;
  std::atomic<std::uint64_t> body_bytes_{0};
  std::atomic<int> requests_{0};
  std::atomic<int> open_{0};
  std::atomic<int> max_open_{0};
};

}  // namespace hubload::testing
