// How `serve` meets its clients (docs/security.md, issue 18): one event-loop
// thread per listener accepts connections and reads request heads without
// blocking, against a deadline for the whole head and an idle deadline between
// keep-alive requests, with a cap on open connections per client address. Only
// a complete head goes to a worker, so idle and slow clients hold no worker.
// A head that announces a body is checked first (route, gate, size): a refused
// body is answered and the connection closed without reading it. The worker
// runs httplib's request processing over the connection (body, handler,
// streamed response), then hands a keep-alive connection back to the loop.
#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "hubload/error.h"
#include "serve/request_head.h"

namespace hubload::serve_internal {

// httplib's server with its per-request processing reachable: the loop owns
// sockets and threads, httplib parses, routes and writes.
class RequestServer : public httplib::Server {
 public:
  using httplib::Server::process_request;
  // httplib streams a body only while its own listening socket is set, and this
  // server never listens: the loop marks it open with its listener, and closed on
  // stop() so that bodies being written end. (httplib::Server::stop() would close
  // that socket, so it is never called.)
  void mark_listening(socket_t listener) { svr_sock_ = listener; }
};

struct LoopLimits {
  int threads = 16;
  int max_connections_per_client = 256;
  std::chrono::milliseconds header_timeout{5000};
  std::chrono::milliseconds idle_timeout{10000};
  std::size_t max_body_bytes = 1024 * 1024;
};

// Decides on a head that announces a body before a byte of it is read:
// nullopt lets the request go on, a Response is sent as the final answer.
using BodyCheck = std::function<std::optional<httplib::Response>(const RequestHead&)>;

class ConnectionLoop {
 public:
  // Binds host:port (0 = a free port) and starts the loop and `limits.threads` workers.
  static Result<std::unique_ptr<ConnectionLoop>> start(const std::string& host, int port, LoopLimits limits,
                                                       RequestServer& handlers, BodyCheck body_check);
  ~ConnectionLoop();  // stop()
  ConnectionLoop(const ConnectionLoop&) = delete;
  ConnectionLoop& operator=(const ConnectionLoop&) = delete;

  int port() const;
  // Every byte read from clients (heads, bodies, discarded input): what tests
  // hold against the body cap.
  std::uint64_t bytes_received() const;
  // Idempotent: closes the listener and every connection; a response being
  // written fails at its next wait.
  void stop();

  struct Impl;

 private:
  explicit ConnectionLoop(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace hubload::serve_internal
