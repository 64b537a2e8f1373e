// A load generator for `hubload serve` under hostile clients (issue 18): N
// clients each GET one file at the same moment, while (optionally) idle
// connections that send nothing and slowloris connections that send a header
// byte every few seconds are held open, reopened whenever the server closes
// them. One epoll thread drives every socket. Prints one JSON line: time to
// first byte of the N clients (p50, p99, max), their total throughput, and
// what happened to the bad clients.
//
//   serve_load_bench PORT PATH [CLIENTS=500] [IDLE=0] [SLOWLORIS=0] [DRIP_S=5] [HOLD_S=2]
//
// HOLD_S: how long the bad clients are held open before the clients start.
// Not a Google Benchmark: it has its own main (see bench/serve-hostile-bench.sh).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace hubload::bench {
namespace {

using Clock = std::chrono::steady_clock;

enum class Kind { client, idle, slowloris };

struct Conn {
  Kind kind;
  int fd = -1;
  bool connected = false;
  Clock::time_point start;
  Clock::time_point first_byte{};
  Clock::time_point next_drip{};
  std::string head;
  bool head_done = false;
  int status = 0;
  std::uint64_t content_length = 0;
  std::uint64_t body = 0;
  bool done = false;
  bool ok = false;
};

struct Load {
  int port = 0;
  std::string path;
  int epoll = -1;
  std::unordered_map<int, std::unique_ptr<Conn>> conns;  // fd -> connection
  std::vector<Conn> finished;                            // the clients, once done
  int clients_left = 0;
  std::uint64_t bad_reopened = 0;
  std::uint64_t bad_refused = 0;  // a bad connection the server answered (408/503) or reset
  double drip_s = 5;

  void open(Kind kind) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      std::perror("socket");
      std::exit(1);
    }
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    auto c = std::make_unique<Conn>();
    c->kind = kind;
    c->fd = fd;
    c->start = Clock::now();
    int on = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 && errno != EINPROGRESS) {
      std::perror("connect");
      std::exit(1);
    }
    epoll_event ev{};
    ev.events = EPOLLOUT | EPOLLIN;
    ev.data.fd = fd;
    ::epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &ev);
    conns.emplace(fd, std::move(c));
  }

  // Ends a connection; `c` is gone afterwards.
  void close(Conn& c) {
    const int fd = c.fd;
    const Kind kind = c.kind;
    ::epoll_ctl(epoll, EPOLL_CTL_DEL, fd, nullptr);
    ::close(fd);
    if (kind == Kind::client) {
      c.done = true;
      finished.push_back(c);
      --clients_left;
    }
    conns.erase(fd);
    if (kind != Kind::client && clients_left > 0) {
      ++bad_reopened;
      open(kind);  // an attacker comes straight back
    }
  }

  void on_connected(Conn& c) {
    c.connected = true;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = c.fd;
    ::epoll_ctl(epoll, EPOLL_CTL_MOD, c.fd, &ev);
    if (c.kind == Kind::client) {
      std::string req = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
      if (::send(c.fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) close(c);
    } else if (c.kind == Kind::slowloris) {
      std::string start = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
      ::send(c.fd, start.data(), start.size(), MSG_NOSIGNAL);
      c.next_drip = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(drip_s));
    }
  }

  // One recv per readiness event (epoll is level-triggered): draining one fast
  // socket to EAGAIN would keep the others' first bytes waiting, and the time to
  // first byte would measure this loop instead of the server.
  void on_readable(Conn& c, std::vector<char>& buf) {
    ssize_t n = c.kind == Kind::client && c.first_byte == Clock::time_point{} ? first_recv(c, buf)
                                                                             : ::recv(c.fd, buf.data(), buf.size(), 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) {
      if (c.kind != Kind::client) ++bad_refused;
      return close(c);
    }
    if (c.kind != Kind::client) return;  // a 408 or 503: wait for the close
    std::size_t used = 0;
    if (!c.head_done) {
      c.head.append(buf.data(), static_cast<std::size_t>(n));
      std::size_t end = c.head.find("\r\n\r\n");
      if (end == std::string::npos) return;
      c.head_done = true;
      c.status = std::atoi(c.head.c_str() + 9);
      std::size_t cl = c.head.find("Content-Length: ");
      c.content_length = cl == std::string::npos ? 0 : std::strtoull(c.head.c_str() + cl + 16, nullptr, 10);
      c.body = c.head.size() - end - 4;
      used = static_cast<std::size_t>(n);
    }
    if (used == 0) c.body += static_cast<std::uint64_t>(n);
    if (c.body >= c.content_length) {
      c.ok = c.status == 200 && c.body == c.content_length;
      return close(c);
    }
  }

  // The first bytes, with the kernel's receive time of their packet (SO_TIMESTAMPNS):
  // on a busy machine this loop may run long after they arrived, and the time to
  // first byte is the server's, not this loop's. A short read, so that the time is
  // that of the first packet.
  ssize_t first_recv(Conn& c, std::vector<char>& buf) {
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(timespec))];
    iovec iov{buf.data(), 512};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n = ::recvmsg(c.fd, &msg, 0);
    if (n <= 0) return n;
    c.first_byte = Clock::now();
    for (cmsghdr* cm = CMSG_FIRSTHDR(&msg); cm != nullptr; cm = CMSG_NXTHDR(&msg, cm)) {
      if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS) {
        timespec ts{};
        std::memcpy(&ts, CMSG_DATA(cm), sizeof ts);
        auto arrived = std::chrono::system_clock::time_point(std::chrono::duration_cast<std::chrono::system_clock::duration>(
            std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec)));
        // Back to the steady clock: how long ago the packet arrived.
        c.first_byte -= std::chrono::duration_cast<Clock::duration>(std::chrono::system_clock::now() - arrived);
      }
    }
    return n;
  }

  void drip() {
    auto now = Clock::now();
    for (auto& entry : conns) {
      Conn& c = *entry.second;
      if (c.kind != Kind::slowloris || !c.connected || now < c.next_drip) continue;
      ::send(c.fd, "X", 1, MSG_NOSIGNAL);
      c.next_drip = now + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(drip_s));
    }
  }

  void run_until(Clock::time_point until, bool until_clients_done) {
    std::vector<epoll_event> events(1024);
    std::vector<char> buf(64 * 1024);
    while (until_clients_done ? clients_left > 0 : Clock::now() < until) {
      int n = ::epoll_wait(epoll, events.data(), static_cast<int>(events.size()), 50);
      for (int i = 0; i < n; ++i) {
        auto it = conns.find(events[i].data.fd);
        if (it == conns.end()) continue;
        Conn& c = *it->second;
        if (!c.connected) {
          int err = 0;
          socklen_t len = sizeof err;
          ::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
          if (err != 0) {
            if (c.kind != Kind::client) ++bad_refused;
            close(c);
            continue;
          }
          on_connected(c);
          if (conns.count(events[i].data.fd) == 0) continue;  // closed on a failed send
        }
        if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) on_readable(c, buf);
      }
      drip();
    }
  }
};

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  std::size_t i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

int main_impl(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s PORT PATH [CLIENTS=500] [IDLE=0] [SLOWLORIS=0] [DRIP_S=5] [HOLD_S=2]\n", argv[0]);
    return 2;
  }
  rlimit rl{};
  ::getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &rl);
  Load load;
  load.port = std::atoi(argv[1]);
  load.path = argv[2];
  const int clients = argc > 3 ? std::atoi(argv[3]) : 500;
  const int idle = argc > 4 ? std::atoi(argv[4]) : 0;
  const int slow = argc > 5 ? std::atoi(argv[5]) : 0;
  load.drip_s = argc > 6 ? std::atof(argv[6]) : 5;
  const double hold_s = argc > 7 ? std::atof(argv[7]) : 2;
  load.epoll = ::epoll_create1(EPOLL_CLOEXEC);
  load.clients_left = clients;

  for (int i = 0; i < idle; ++i) load.open(Kind::idle);
  for (int i = 0; i < slow; ++i) load.open(Kind::slowloris);
  if (idle + slow > 0) {
    load.run_until(Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(hold_s)),
                   false);
  }
  auto start = Clock::now();
  for (int i = 0; i < clients; ++i) load.open(Kind::client);
  load.run_until({}, true);
  double wall = std::chrono::duration<double>(Clock::now() - start).count();

  std::vector<double> ttfb;
  std::uint64_t bytes = 0;
  int failed = 0;
  for (const Conn& c : load.finished) {
    if (!c.ok) ++failed;
    bytes += c.body;
    if (c.first_byte != Clock::time_point{}) ttfb.push_back(std::chrono::duration<double>(c.first_byte - c.start).count());
  }
  std::printf(
      "{\"clients\": %d, \"idle\": %d, \"slowloris\": %d, \"failed\": %d, \"ttfb_p50_s\": %.3f, \"ttfb_p99_s\": %.3f, "
      "\"ttfb_max_s\": %.3f, \"wall_s\": %.2f, \"bytes\": %llu, \"throughput_MBps\": %.0f, \"bad_reopened\": %llu, "
      "\"bad_closed_by_server\": %llu}\n",
      clients, idle, slow, failed, percentile(ttfb, 0.5), percentile(ttfb, 0.99), percentile(ttfb, 1.0), wall,
      static_cast<unsigned long long>(bytes), static_cast<double>(bytes) / wall / 1e6,
      static_cast<unsigned long long>(load.bad_reopened), static_cast<unsigned long long>(load.bad_refused));
  return failed == 0 ? 0 : 1;
}

}  // namespace
}  // namespace hubload::bench

int main(int argc, char** argv) { return hubload::bench::main_impl(argc, argv); }
