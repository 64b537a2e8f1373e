#include "support/transfer_origin.h"

#include "support/loopback_listener.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <stdexcept>

namespace hubload::testing {

TransferOrigin::TransferOrigin() {
  listen_fd_ = listen_on_loopback(port_, "TransferOrigin");
  acceptor_ = std::thread([this] { accept_loop(); });
}

TransferOrigin::~TransferOrigin() {
  stop_ = true;
  ::shutdown(listen_fd_, SHUT_RDWR);
  acceptor_.join();
  ::close(listen_fd_);
  join_workers(mu_, workers_);
}

void TransferOrigin::add_file(const std::string& path, std::string content) {
  std::lock_guard lock(mu_);
  files_[path] = std::make_shared<const std::string>(std::move(content));
}

void TransferOrigin::set_faults(const OriginFaults& f) {
  std::lock_guard lock(mu_);
  faults_ = f;
  errors_sent_ = drops_sent_ = stalls_sent_ = corrupt_sent_ = 0;
}

std::string TransferOrigin::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

void TransferOrigin::accept_loop() {
  while (!stop_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    int one = 1;  // the header and the body go out as separate sends: no Nagle delay
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    std::lock_guard lock(mu_);
    workers_.emplace_back([this, fd] { serve(fd); });
  }
}

namespace {
bool send_all(int fd, const char* p, std::size_t n) {
  while (n > 0) {
    ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w <= 0) return false;
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}
}  // namespace

void TransferOrigin::serve(int fd) {
  std::string req;
  char buf[4096];
  while (req.find("\r\n\r\n") == std::string::npos && req.size() < 65536) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      ::close(fd);
      return;
    }
    req.append(buf, static_cast<std::size_t>(n));
  }
  ++requests_;
  // In flight from the parsed request until just BEFORE its last body byte is
  // sent: the client cannot have finished (and started its next request) by
  // then, so the high-water mark never counts one request after its successor.
  struct InFlight {
    std::atomic<int>& open;
    bool ended = false;
    InFlight(std::atomic<int>& o, std::atomic<int>& max) : open(o) {
      int now = ++open;
      int seen = max.load();
      while (now > seen && !max.compare_exchange_weak(seen, now)) {
      }
    }
    void end() {
      if (!ended) --open;
      ended = true;
    }
    ~InFlight() { end(); }
  } in_flight(open_, max_open_);
  auto sp1 = req.find(' ');
  auto sp2 = req.find(' ', sp1 + 1);
  std::string path = req.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string range;
  if (auto r = req.find("\r\nRange: bytes="); r != std::string::npos) {
    auto e = req.find("\r\n", r + 2);
    range = req.substr(r + 15, e - r - 15);
  }
  std::shared_ptr<const std::string> file;
  OriginFaults f;
  bool error = false, drop = false, stall = false, corrupt = false;
  {
    std::lock_guard lock(mu_);
    auto it = files_.find(path);
    if (it == files_.end()) {
      std::string resp = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
      send_all(fd, resp.data(), resp.size());
      ::close(fd);
      return;
    }
    file = it->second;
    f = faults_;
    if (errors_sent_ < f.error_first) error = ++errors_sent_ > 0;
    else if (drops_sent_ < f.drop_first) drop = ++drops_sent_ > 0;
    else if (stalls_sent_ < f.stall_first) stall = ++stalls_sent_ > 0;
    else if (corrupt_sent_ < f.corrupt_first) corrupt = ++corrupt_sent_ > 0;
  }
  if (error) {
    std::string resp = "HTTP/1.1 " + std::to_string(f.error_status) + " Fault\r\n" + f.error_headers +
                       "Content-Length: 5\r\nConnection: close\r\n\r\nfault";
    send_all(fd, resp.data(), resp.size());
    ::close(fd);
    return;
  }
  const std::string& body = *file;
  std::uint64_t total = body.size(), first = 0, last = total ? total - 1 : 0;
  bool partial = false;
  if (!range.empty() && !f.ignore_range) {
    auto dash = range.find('-');
    first = std::stoull(range.substr(0, dash));
    std::string l = range.substr(dash + 1);
    if (!l.empty()) last = std::min<std::uint64_t>(std::stoull(l), total - 1);
    if (first >= total) {
      std::string resp = "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */" + std::to_string(total) +
                         "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
      send_all(fd, resp.data(), resp.size());
      ::close(fd);
      return;
    }
    partial = true;
  }
  std::uint64_t len = total ? last - first + 1 : 0;
  std::string head = partial ? "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes " + std::to_string(first) + "-" +
                                   std::to_string(last) + "/" + std::to_string(total) + "\r\n"
                             : "HTTP/1.1 200 OK\r\n";
  head += "Accept-Ranges: bytes\r\nContent-Length: " + std::to_string(len) + "\r\nConnection: close\r\n\r\n";
  if (len == 0) in_flight.end();
  if (!send_all(fd, head.data(), head.size())) {
    ::close(fd);
    return;
  }
  std::string flipped;  // a corrupted copy of just the range sent
  const char* data = body.data() + first;
  if (corrupt && len > 0) {
    flipped.assign(data, len);
    flipped[len / 2] ^= 0x5a;
    data = flipped.data();
  }
  std::uint64_t sent = 0;
  auto started = std::chrono::steady_clock::now();
  while (sent < len && !stop_) {
    if ((drop || stall) && sent >= f.drop_after) {
      if (stall) std::this_thread::sleep_for(std::chrono::milliseconds(f.stall_ms));
      break;
    }
    std::uint64_t n = std::min<std::uint64_t>(16384, len - sent);
    if (drop || stall) n = std::min(n, f.drop_after - sent);
    if (sent + n == len) in_flight.end();
    if (!send_all(fd, data + sent, n)) break;
    sent += n;
    body_bytes_ += n;
    if (f.bytes_per_second) {
      auto due = started + std::chrono::microseconds(sent * 1'000'000 / f.bytes_per_second);
      std::this_thread::sleep_until(due);
    }
  }
  ::shutdown(fd, SHUT_RDWR);
  ::close(fd);
}

}  // namespace hubload::testing
