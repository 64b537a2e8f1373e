#include "serve/connection_loop.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "hubload/file.h"

namespace hubload::serve_internal {

namespace {

using Clock = std::chrono::steady_clock;

// A head larger than this is refused (431): real clients send well under 8 KiB.
constexpr std::size_t kMaxHead = 64 * 1024;
// After a refusal the unread input is drained this long (and this much at most)
// so that closing does not reset the connection before the client reads the answer.
constexpr auto kLinger = std::chrono::seconds(1);
constexpr std::size_t kMaxLinger = 64 * 1024;
// A response whose client takes no bytes for this long is abandoned.
constexpr auto kWriteTimeout = std::chrono::seconds(30);
// How often waits wake to notice stop(), and how often deadlines are checked.
constexpr auto kTick = std::chrono::milliseconds(100);
constexpr std::size_t kMaxRequestsPerConnection = 1000;

std::string ip_of(const sockaddr_storage& a, int& port) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (a.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&a);
    ::inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof buf);
    port = ntohs(in6->sin6_port);
  } else {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&a);
    ::inet_ntop(AF_INET, &in->sin_addr, buf, sizeof buf);
    port = ntohs(in->sin_port);
  }
  return buf;
}

const char* reason(int status) {
  switch (status) {
    case 307: return "Temporary Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 413: return "Payload Too Large";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 503: return "Service Unavailable";
    default: return status >= 500 ? "Server Error" : "Error";
  }
}

// The whole answer of a refusal, which always closes the connection.
std::string serialize(const httplib::Response& res) {
  std::string out = "HTTP/1.1 " + std::to_string(res.status) + " " + reason(res.status) + "\r\n";
  for (const auto& h : res.headers) {
    if (h.first == "Content-Length" || h.first == "Connection") continue;
    out += h.first + ": " + h.second + "\r\n";
  }
  out += "Content-Length: " + std::to_string(res.body.size()) + "\r\nConnection: close\r\n\r\n" + res.body;
  return out;
}

std::string plain_answer(int status, const std::string& message) {
  httplib::Response res;
  res.status = status;
  res.set_content(message + "\n", "text/plain");
  return serialize(res);
}

}  // namespace

struct Connection {
  enum class State { head, reply, linger };
  UniqueFd fd;
  std::string peer;  // client IP: the key of the per-client cap
  int peer_port = 0;
  std::string local;
  int local_port = 0;
  State state = State::head;
  std::string in;              // bytes read and not yet consumed by a request
  bool started = false;        // a byte of the current request has arrived
  Clock::time_point deadline;  // of the head, the idle wait, the reply or the linger
  std::string out;             // a refusal being sent
  std::size_t out_pos = 0;
  std::size_t lingered = 0;
  std::size_t served = 0;
};

struct ConnectionLoop::Impl {
  LoopLimits limits;
  RequestServer* handlers = nullptr;
  BodyCheck body_check;
  UniqueFd listener;
  UniqueFd epoll;
  UniqueFd wake;  // eventfd: stop() and workers handing connections back
  int port = 0;
  std::atomic<bool> stopping{false};
  std::atomic<std::uint64_t> received{0};
  std::thread thread;
  std::unique_ptr<httplib::ThreadPool> pool;
  std::once_flag stopped;

  // Loop thread only.
  std::unordered_map<Connection*, std::unique_ptr<Connection>> owned;
  std::unordered_map<std::string, int> per_client;
  Clock::time_point accept_paused_until{};

  std::mutex mu;
  bool loop_exited = false;                                          // guarded by mu
  std::vector<std::pair<std::unique_ptr<Connection>, bool>> returned;  // guarded by mu: (connection, keep)

  void run();
  void accept_all();
  void on_event(Connection* c, std::uint32_t events);
  void read_head(Connection* c);
  void try_dispatch(Connection* c);
  void refuse(Connection* c, std::string answer);
  void send_reply(Connection* c);
  void drain_linger(Connection* c);
  void close(Connection* c);
  void take_back();
  void expire(Clock::time_point now);
  void watch(Connection* c, std::uint32_t events, int op);
  void serve(std::unique_ptr<Connection> c, std::size_t request_bytes);
  void hand_back(std::unique_ptr<Connection> c, bool keep);
  void signal() const {
    std::uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(wake.get(), &one, sizeof one);
  }
};

namespace {

// The connection as httplib's request processing sees it: the bytes the loop
// already read, then the socket, with waits bounded by deadlines and by stop().
class ConnectionStream final : public httplib::Stream {
 public:
  ConnectionStream(Connection& c, ConnectionLoop::Impl& loop, Clock::time_point read_deadline)
      : c_(c), loop_(loop), read_deadline_(read_deadline) {}

  bool is_readable() const override { return pos_ < c_.in.size() || wait(POLLIN, Clock::now()); }
  bool is_writable() const override { return wait(POLLOUT, Clock::now() + kWriteTimeout); }

  ssize_t read(char* ptr, size_t size) override {
    if (pos_ < c_.in.size()) {
      std::size_t n = std::min(size, c_.in.size() - pos_);
      std::memcpy(ptr, c_.in.data() + pos_, n);
      pos_ += n;
      consumed_ += n;
      return static_cast<ssize_t>(n);
    }
    while (true) {
      ssize_t n = ::recv(c_.fd.get(), ptr, size, 0);
      if (n >= 0) {
        loop_.received.fetch_add(static_cast<std::uint64_t>(n), std::memory_order_relaxed);
        consumed_ += static_cast<std::size_t>(n);
        return n;
      }
      if (errno == EINTR) continue;
      if ((errno != EAGAIN && errno != EWOULDBLOCK) || !wait(POLLIN, read_deadline_)) return -1;
    }
  }

  ssize_t write(const char* ptr, size_t size) override {
    std::size_t done = 0;
    while (done < size) {
      ssize_t n = ::send(c_.fd.get(), ptr + done, size - done, MSG_NOSIGNAL);
      if (n > 0) {
        done += static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK) || !is_writable()) return -1;
    }
    return static_cast<ssize_t>(size);
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip = c_.peer;
    port = c_.peer_port;
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    ip = c_.local;
    port = c_.local_port;
  }
  socket_t socket() const override { return c_.fd.get(); }

  std::size_t consumed() const { return consumed_; }
  // Keeps what the request did not use (a pipelined next request) for the loop.
  void keep_unread() { c_.in.erase(0, pos_); }

 private:
  // Waits for `events` until the deadline, in ticks so that stop() is noticed.
  bool wait(short events, Clock::time_point deadline) const {
    while (!loop_.stopping.load()) {
      auto now = Clock::now();
      auto left = std::min<Clock::duration>(deadline - now, kTick);
      pollfd p{c_.fd.get(), events, 0};
      int r = ::poll(&p, 1, static_cast<int>(std::max<std::int64_t>(
                                 0, std::chrono::duration_cast<std::chrono::milliseconds>(left).count())));
      if (r > 0) return true;
      if (r < 0 && errno != EINTR) return false;
      if (Clock::now() >= deadline) return false;
    }
    return false;
  }

  Connection& c_;
  ConnectionLoop::Impl& loop_;
  Clock::time_point read_deadline_;
  std::size_t pos_ = 0;
  std::size_t consumed_ = 0;
};

Result<UniqueFd> bind_listener(const std::string& host, int port, int& bound) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* list = nullptr;
  std::string service = std::to_string(port);
  if (int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &list); rc != 0) {
    return invalid_input("cannot resolve the address to bind, " + host + ": " + ::gai_strerror(rc));
  }
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> hold(list, &::freeaddrinfo);
  int last_errno = EADDRNOTAVAIL;
  for (addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
    UniqueFd fd(::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol));
    if (!fd.valid()) {
      last_errno = errno;
      continue;
    }
    int yes = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    // SOMAXCONN, not a small backlog: a client opening many connections at once
    // must not lose SYNs (each costs it a 1 s retransmit).
    if (::bind(fd.get(), ai->ai_addr, ai->ai_addrlen) != 0 || ::listen(fd.get(), SOMAXCONN) != 0) {
      last_errno = errno;
      continue;
    }
    sockaddr_storage a{};
    socklen_t len = sizeof a;
    ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len);
    ip_of(a, bound);
    return fd;
  }
  std::string where = host + ":" + std::to_string(port);
  if (port == 0) return io_error("cannot bind " + host + " to a free port: " + std::strerror(last_errno));
  return io_error("cannot bind " + where + " (in use, or not a local address): " + std::strerror(last_errno));
}

}  // namespace

void ConnectionLoop::Impl::watch(Connection* c, std::uint32_t events, int op) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = c;
  ::epoll_ctl(epoll.get(), op, c->fd.get(), &ev);
}

void ConnectionLoop::Impl::run() {
  std::array<epoll_event, 256> events{};
  auto next_expiry = Clock::now() + kTick;
  while (!stopping.load()) {
    int n = ::epoll_wait(epoll.get(), events.data(), static_cast<int>(events.size()),
                         static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(kTick).count()));
    for (int i = 0; i < n; ++i) {
      void* tag = events[i].data.ptr;
      if (tag == &listener) {
        accept_all();
      } else if (tag == &wake) {
        std::uint64_t v = 0;
        [[maybe_unused]] ssize_t r = ::read(wake.get(), &v, sizeof v);
        take_back();
      } else if (owned.count(static_cast<Connection*>(tag)) != 0) {
        on_event(static_cast<Connection*>(tag), events[i].events);
      }
    }
    auto now = Clock::now();
    if (now >= next_expiry) {
      expire(now);
      next_expiry = now + kTick;
    }
  }
  std::lock_guard lock(mu);
  loop_exited = true;
  returned.clear();
  owned.clear();
}

void ConnectionLoop::Impl::accept_all() {
  while (true) {
    sockaddr_storage a{};
    socklen_t len = sizeof a;
    int fd = ::accept4(listener.get(), reinterpret_cast<sockaddr*>(&a), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        // Out of descriptors: the listener stays readable, so stop watching it for a
        // tick instead of spinning (expire() watches it again).
        epoll_event ev{};
        ev.data.ptr = &listener;
        ::epoll_ctl(epoll.get(), EPOLL_CTL_MOD, listener.get(), &ev);
        accept_paused_until = Clock::now() + kTick;
      }
      return;
    }
    auto c = std::make_unique<Connection>();
    c->fd.reset(fd);
    c->peer = ip_of(a, c->peer_port);
    int& open = per_client[c->peer];
    if (open >= limits.max_connections_per_client) {
      // A fresh socket's send buffer is empty: this short answer never blocks.
      std::string answer = plain_answer(503, "too many connections from " + c->peer);
      [[maybe_unused]] ssize_t w = ::send(fd, answer.data(), answer.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (open == 0) per_client.erase(c->peer);
      continue;
    }
    ++open;
    sockaddr_storage l{};
    socklen_t llen = sizeof l;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&l), &llen);
    c->local = ip_of(l, c->local_port);
    int yes = 1;
    // Headers and body go out as separate writes: no Nagle delay between them.
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
    c->deadline = Clock::now() + limits.header_timeout;
    Connection* raw = c.get();
    owned.emplace(raw, std::move(c));
    watch(raw, EPOLLIN, EPOLL_CTL_ADD);
  }
}

void ConnectionLoop::Impl::on_event(Connection* c, std::uint32_t events) {
  switch (c->state) {
    case Connection::State::head:
      if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) read_head(c);
      return;
    case Connection::State::reply:
      if (events & (EPOLLHUP | EPOLLERR)) return close(c);
      return send_reply(c);
    case Connection::State::linger:
      return drain_linger(c);
  }
}

void ConnectionLoop::Impl::read_head(Connection* c) {
  std::array<char, 16 * 1024> buf{};
  while (c->in.size() < kMaxHead) {
    ssize_t n = ::recv(c->fd.get(), buf.data(), std::min(buf.size(), kMaxHead - c->in.size()), 0);
    if (n == 0) {
      // A client may half-close once its request is out: answer a complete one.
      if (head_end(c->in)) break;
      return close(c);
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      return close(c);
    }
    received.fetch_add(static_cast<std::uint64_t>(n), std::memory_order_relaxed);
    c->in.append(buf.data(), static_cast<std::size_t>(n));
  }
  if (!c->started && !c->in.empty()) {
    // The idle wait ends; the whole head is now due within header_timeout.
    c->started = true;
    c->deadline = std::min(c->deadline, Clock::now() + limits.header_timeout);
  }
  try_dispatch(c);
}

void ConnectionLoop::Impl::try_dispatch(Connection* c) {
  auto end = head_end(c->in);
  if (!end) {
    if (c->in.size() >= kMaxHead) refuse(c, plain_answer(431, "request head larger than 64 KiB"));
    return;
  }
  auto head = parse_request_head(std::string_view(c->in).substr(0, *end));
  if (!head) return refuse(c, plain_answer(400, "malformed request line or header"));
  if (head->has_body()) {
    // Route, gate and size are all decided before a byte of the body is read.
    if (auto answer = body_check(*head)) return refuse(c, serialize(*answer));
    if (head->chunked) return refuse(c, plain_answer(411, "a request body needs a Content-Length"));
    if (head->content_length > limits.max_body_bytes) {
      return refuse(c, plain_answer(413, "request body of " + std::to_string(head->content_length) +
                                             " bytes; the limit is " + std::to_string(limits.max_body_bytes)));
    }
  }
  ::epoll_ctl(epoll.get(), EPOLL_CTL_DEL, c->fd.get(), nullptr);
  auto it = owned.find(c);
  Connection* raw = it->second.release();
  owned.erase(it);
  const std::size_t request_bytes = *end + static_cast<std::size_t>(head->content_length);
  // std::function needs a copyable callable, so the worker takes the raw pointer back into a unique_ptr.
  pool->enqueue([this, raw, request_bytes] { serve(std::unique_ptr<Connection>(raw), request_bytes); });
}

void ConnectionLoop::Impl::serve(std::unique_ptr<Connection> c, std::size_t request_bytes) {
  if (stopping.load()) return hand_back(std::move(c), false);
  ConnectionStream stream(*c, *this, Clock::now() + limits.header_timeout);
  const bool last = ++c->served >= kMaxRequestsPerConnection;
  bool closed = false;
  bool ok = handlers->process_request(stream, last, closed, [](httplib::Request&) {});
  // A body the handlers did not read would be taken for the next request: close instead.
  bool keep = ok && !closed && !last && stream.consumed() >= request_bytes;
  stream.keep_unread();
  hand_back(std::move(c), keep);
}

void ConnectionLoop::Impl::hand_back(std::unique_ptr<Connection> c, bool keep) {
  std::lock_guard lock(mu);
  if (loop_exited) return;  // the connection closes here
  returned.emplace_back(std::move(c), keep);
  signal();
}

void ConnectionLoop::Impl::take_back() {
  std::vector<std::pair<std::unique_ptr<Connection>, bool>> back;
  {
    std::lock_guard lock(mu);
    back.swap(returned);
  }
  for (auto& entry : back) {
    Connection* c = entry.first.get();
    owned.emplace(c, std::move(entry.first));
    if (!entry.second) {
      close(c);
      continue;
    }
    c->state = Connection::State::head;
    c->started = !c->in.empty();
    c->deadline = Clock::now() + (c->started ? limits.header_timeout : limits.idle_timeout);
    watch(c, EPOLLIN, EPOLL_CTL_ADD);
    if (c->started) try_dispatch(c);  // a pipelined request is already here
  }
}

void ConnectionLoop::Impl::refuse(Connection* c, std::string answer) {
  c->state = Connection::State::reply;
  c->out = std::move(answer);
  c->out_pos = 0;
  c->deadline = Clock::now() + kLinger;
  watch(c, EPOLLOUT, EPOLL_CTL_MOD);
  send_reply(c);
}

void ConnectionLoop::Impl::send_reply(Connection* c) {
  while (c->out_pos < c->out.size()) {
    ssize_t n = ::send(c->fd.get(), c->out.data() + c->out_pos, c->out.size() - c->out_pos, MSG_NOSIGNAL);
    if (n > 0) {
      c->out_pos += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;  // EPOLLOUT brings us back
    return close(c);
  }
  // Closing with unread input would reset the connection, and the client could
  // lose the answer: half-close, then discard a bounded amount until it closes.
  ::shutdown(c->fd.get(), SHUT_WR);
  c->state = Connection::State::linger;
  c->deadline = Clock::now() + kLinger;
  watch(c, EPOLLIN, EPOLL_CTL_MOD);
}

void ConnectionLoop::Impl::drain_linger(Connection* c) {
  std::array<char, 16 * 1024> buf{};
  while (c->lingered < kMaxLinger) {
    ssize_t n = ::recv(c->fd.get(), buf.data(), std::min(buf.size(), kMaxLinger - c->lingered), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) return close(c);
    received.fetch_add(static_cast<std::uint64_t>(n), std::memory_order_relaxed);
    c->lingered += static_cast<std::size_t>(n);
  }
  close(c);
}

void ConnectionLoop::Impl::close(Connection* c) {
  auto count = per_client.find(c->peer);
  if (count != per_client.end() && --count->second <= 0) per_client.erase(count);
  ::epoll_ctl(epoll.get(), EPOLL_CTL_DEL, c->fd.get(), nullptr);
  owned.erase(c);
}

void ConnectionLoop::Impl::expire(Clock::time_point now) {
  if (accept_paused_until != Clock::time_point{} && now >= accept_paused_until) {
    accept_paused_until = {};
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = &listener;
    ::epoll_ctl(epoll.get(), EPOLL_CTL_MOD, listener.get(), &ev);
  }
  std::vector<Connection*> due;
  for (const auto& entry : owned) {
    if (now >= entry.second->deadline) due.push_back(entry.first);
  }
  for (Connection* c : due) {
    if (c->state == Connection::State::head && c->started) {
      refuse(c, plain_answer(408, "the request head did not arrive in time"));
    } else {
      close(c);  // an idle connection, or a refusal the client does not read
    }
  }
}

ConnectionLoop::ConnectionLoop(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ConnectionLoop::~ConnectionLoop() { stop(); }

Result<std::unique_ptr<ConnectionLoop>> ConnectionLoop::start(const std::string& host, int port, LoopLimits limits,
                                                              RequestServer& handlers, BodyCheck body_check) {
  auto impl = std::make_unique<Impl>();
  impl->limits = limits;
  impl->handlers = &handlers;
  impl->body_check = std::move(body_check);
  HUBLOAD_ASSIGN_OR_RETURN(impl->listener, bind_listener(host, port, impl->port));
  impl->epoll.reset(::epoll_create1(EPOLL_CLOEXEC));
  impl->wake.reset(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!impl->epoll.valid() || !impl->wake.valid()) return errno_error("the connection loop of " + host, errno);
  for (UniqueFd* fd : {&impl->listener, &impl->wake}) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = fd;
    if (::epoll_ctl(impl->epoll.get(), EPOLL_CTL_ADD, fd->get(), &ev) != 0) {
      return errno_error("the connection loop of " + host, errno);
    }
  }
  handlers.mark_listening(impl->listener.get());
  impl->pool = std::make_unique<httplib::ThreadPool>(static_cast<std::size_t>(limits.threads));
  Impl* p = impl.get();
  impl->thread = std::thread([p] { p->run(); });
  return std::unique_ptr<ConnectionLoop>(new ConnectionLoop(std::move(impl)));
}

int ConnectionLoop::port() const { return impl_->port; }

std::uint64_t ConnectionLoop::bytes_received() const { return impl_->received.load(); }

void ConnectionLoop::stop() {
  std::call_once(impl_->stopped, [this] {
    impl_->stopping = true;
    impl_->handlers->mark_listening(INVALID_SOCKET);
    impl_->signal();
    if (impl_->thread.joinable()) impl_->thread.join();
    impl_->pool->shutdown();
    impl_->listener.reset();
  });
}

}  // namespace hubload::serve_internal
