// A hostile HTTP server on 127.0.0.1 (random free port): each request's answer
// is written by the test, byte by byte if it likes (a redirect to file://, a
// drip, a body cut short, a million-deep JSON), to check that the client ends
// with a clean error, on time, with bounded memory. One thread per connection;
// every connection closes after one answer. The destructor stops every
// handler (their sends fail, their sleeps end) and joins the threads.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace hubload::testing {

struct HostileRequest {
  std::string method;
  std::string target;  // path and query, as sent
  std::string head;    // the whole request head, for header checks
  // The value of a header (case-insensitive name), if present.
  std::optional<std::string> header(std::string_view name) const;
};

class HostileServer;

// What a handler writes to.
class HostileConnection {
 public:
  HostileConnection(HostileServer& server, int fd) : server_(server), fd_(fd) {}
  // False once the client is gone or the server stops.
  bool send(std::string_view bytes);
  // Sleeps, ending early when the server stops; false if it did.
  bool pause(std::chrono::milliseconds duration);

 private:
  HostileServer& server_;
  int fd_;
};

using HostileHandler = std::function<void(const HostileRequest&, HostileConnection&)>;

// "HTTP/1.1 <status> X\r\n<headers>Content-Length: <n>\r\nConnection: close\r\n\r\n<body>"
// (`headers` are "Name: value\r\n" lines).
std::string http_answer(int status, std::string_view headers = {}, std::string_view body = {});

class HostileServer {
 public:
  explicit HostileServer(HostileHandler handler);
  ~HostileServer();
  HostileServer(const HostileServer&) = delete;
  HostileServer& operator=(const HostileServer&) = delete;

  std::string url(std::string_view path = "") const;  // http://127.0.0.1:<port><path>
  int port() const { return port_; }
  int connections() const { return connections_.load(); }  // accepted so far
  int requests() const { return requests_.load(); }        // request heads read so far
  std::vector<HostileRequest> log() const;

 private:
  friend class HostileConnection;
  void accept_loop();
  void serve(int fd);

  HostileHandler handler_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::atomic<int> requests_{0};
  mutable std::mutex mu_;
  std::condition_variable stopped_;
  std::vector<HostileRequest> log_;
  std::vector<int> open_fds_;
  std::vector<std::thread> workers_;
  std::thread acceptor_;
};

// Aborts the test program if still alive after `limit`: a client that hangs
// fails its test (with `what` on stderr) instead of running into ctest's
// timeout, or for ever.
class HangGuard {
 public:
  HangGuard(std::chrono::milliseconds limit, std::string what);
  ~HangGuard();
  HangGuard(const HangGuard&) = delete;
  HangGuard& operator=(const HangGuard&) = delete;

 private:
  std::mutex mu_;
  std::condition_variable done_cv_;
  bool done_ = false;
  std::thread watcher_;
};

}  // namespace hubload::testing
