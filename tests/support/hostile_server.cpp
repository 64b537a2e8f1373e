#include "support/hostile_server.h"

#include "support/loopback_listener.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace hubload::testing {

std::optional<std::string> HostileRequest::header(std::string_view name) const {
  std::string_view rest = head;
  while (!rest.empty()) {
    const auto eol = rest.find("\r\n");
    std::string_view line = rest.substr(0, eol);
    rest = eol == std::string_view::npos ? std::string_view() : rest.substr(eol + 2);
    const auto colon = line.find(':');
    if (colon != name.size() || ::strncasecmp(line.data(), name.data(), name.size()) != 0) continue;
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    return std::string(value);
  }
  return std::nullopt;
}

bool HostileConnection::send(std::string_view bytes) {
  while (!bytes.empty()) {
    if (server_.stop_) return false;
    pollfd p{fd_, POLLOUT, 0};
    if (::poll(&p, 1, 50) <= 0) continue;  // look at stop_ again
    const ssize_t w = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (w <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(w));
  }
  return true;
}

bool HostileConnection::pause(std::chrono::milliseconds duration) {
  std::unique_lock lock(server_.mu_);
  return !server_.stopped_.wait_for(lock, duration, [this] { return server_.stop_.load(); });
}

std::string http_answer(int status, std::string_view headers, std::string_view body) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " X\r\n";
  out += headers;
  out += "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
  out += body;
  return out;
}

HostileServer::HostileServer(HostileHandler handler) : handler_(std::move(handler)) {
  listen_fd_ = listen_on_loopback(port_, "HostileServer");
  acceptor_ = std::thread([this] { accept_loop(); });
}

HostileServer::~HostileServer() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);  // a blocked read or send ends
  }
  stopped_.notify_all();
  acceptor_.join();
  ::close(listen_fd_);
  join_workers(mu_, workers_);
}

std::string HostileServer::url(std::string_view path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
}

std::vector<HostileRequest> HostileServer::log() const {
  std::lock_guard lock(mu_);
  return log_;
}

void HostileServer::accept_loop() {
  while (!stop_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    int one = 1;  // a drip's single bytes go out at once
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ++connections_;
    std::lock_guard lock(mu_);
    if (stop_) {
      ::close(fd);
      break;
    }
    open_fds_.push_back(fd);
    workers_.emplace_back([this, fd] { serve(fd); });
  }
}

void HostileServer::serve(int fd) {
  std::string head;
  char buf[4096];
  while (!stop_ && head.find("\r\n\r\n") == std::string::npos && head.size() < (64 << 10)) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    head.append(buf, static_cast<std::size_t>(n));
  }
  if (!stop_ && head.find("\r\n\r\n") != std::string::npos) {
    HostileRequest request;
    const auto sp1 = head.find(' ');
    const auto sp2 = head.find(' ', sp1 + 1);
    request.method = head.substr(0, sp1);
    request.target = head.substr(sp1 + 1, sp2 - sp1 - 1);
    request.head = head.substr(0, head.find("\r\n\r\n"));
    {
      std::lock_guard lock(mu_);
      log_.push_back(request);
    }
    ++requests_;
    HostileConnection connection(*this, fd);
    handler_(request, connection);
  }
  std::lock_guard lock(mu_);
  open_fds_.erase(std::remove(open_fds_.begin(), open_fds_.end(), fd), open_fds_.end());
  ::shutdown(fd, SHUT_RDWR);
  ::close(fd);
}

HangGuard::HangGuard(std::chrono::milliseconds limit, std::string what) {
  watcher_ = std::thread([this, limit, what = std::move(what)] {
    std::unique_lock lock(mu_);
    if (!done_cv_.wait_for(lock, limit, [this] { return done_; })) {
      std::fprintf(stderr, "HangGuard: %s still running after %lld ms\n", what.c_str(),
                   static_cast<long long>(limit.count()));
      std::abort();
    }
  });
}

HangGuard::~HangGuard() {
  {
    std::lock_guard lock(mu_);
    done_ = true;
  }
  done_cv_.notify_all();
  watcher_.join();
}

}  // namespace hubload::testing
