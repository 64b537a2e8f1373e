// Hostile clients of `hubload serve` (issue 18, docs/security.md): idle and
// slowloris connections cannot starve a new client, the per-client cap, request
// bodies refused before they are read, and the symlink policy. Every client
// here is a raw socket on 127.0.0.1 whose waits are bounded, so a regression
// fails instead of hanging.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "hubload/file.h"
#include "serve/request_head.h"
#include "serve/server_testing.h"
#include "support/serve_fixture.h"

namespace hubload::testing {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// A client socket that says exactly what a test makes it say.
class RawClient {
 public:
  explicit RawClient(int port) : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  bool connected() const { return connected_; }
  int fd() const { return fd_.get(); }

  bool send_all(std::string_view s) {
    while (!s.empty()) {
      ssize_t n = ::send(fd_.get(), s.data(), s.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      s.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }
  // Sends up to `n` filler bytes without blocking for long; returns how many left.
  std::size_t push_filler(std::size_t n, milliseconds budget) {
    std::string chunk(64 * 1024, 'x');
    std::size_t sent = 0;
    auto until = Clock::now() + budget;
    while (sent < n && Clock::now() < until) {
      pollfd p{fd_.get(), POLLOUT, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      ssize_t w = ::send(fd_.get(), chunk.data(), std::min(chunk.size(), n - sent), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (w <= 0) break;  // the server closed its side
      sent += static_cast<std::size_t>(w);
    }
    return sent;
  }
  // Reads until the peer closes or the wait runs out; `first_byte` gets the time of the first byte.
  std::string read_until_close(milliseconds wait, Clock::time_point* first_byte = nullptr) {
    std::string out;
    auto until = Clock::now() + wait;
    char buf[16384];
    while (Clock::now() < until) {
      pollfd p{fd_.get(), POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
      if (n <= 0) {
        closed_ = true;
        break;
      }
      if (out.empty() && first_byte != nullptr) *first_byte = Clock::now();
      out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
  }
  // Reads one whole response whose length is in Content-Length (keep-alive).
  std::string read_response(milliseconds wait) {
    std::string out;
    auto until = Clock::now() + wait;
    char buf[16384];
    while (Clock::now() < until) {
      std::size_t end = out.find("\r\n\r\n");
      if (end != std::string::npos) {
        std::size_t cl = out.find("Content-Length: ");
        std::size_t len = cl == std::string::npos ? 0 : std::stoul(out.substr(cl + 16));
        if (out.size() >= end + 4 + len) return out;
      }
      pollfd p{fd_.get(), POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
      if (n <= 0) break;
      out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
  }
  bool closed() const { return closed_; }

 private:
  UniqueFd fd_;
  bool connected_ = false;
  bool closed_ = false;
};

int status_of(const std::string& response) {
  if (!response.starts_with("HTTP/1.1 ") || response.size() < 12) return 0;
  return std::stoi(response.substr(9, 3));
}

// The server of a FakeHub's cache, started with options the fixture does not carry.
std::unique_ptr<Server> start_server(FakeHub& hub, ServeOptions o) {
  o.cache_dir = hub.write_cache();
  o.gated["acme/gated"] = "hf_right";
  o.threads = 4;
  auto server = serve_internal::ServerAccess::start(std::move(o), false);
  if (!server) throw std::runtime_error(server.error().message());
  return std::move(*server);
}

class ServeHostileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    hub.model("acme/tiny").branch("main", {{"config.json", "{\"a\": 1}"}});
    hub.model("acme/gated").branch("main", {{"config.json", "{}"}}).gated("hf_right");
  }
  FakeHub hub;
};

TEST(ServeRequestHead, FramingThatCouldSmuggleABodyIsRefused) {
  using serve_internal::parse_request_head;
  EXPECT_EQ(serve_internal::head_end("GET / HTTP/1.1\r\nHost: x\r\n"), std::nullopt);
  EXPECT_EQ(serve_internal::head_end("GET / HTTP/1.1\r\n\r\nrest"), 18u);
  auto ok = parse_request_head("POST /a/b%20c?x=1&y=2 HTTP/1.1\r\ncontent-length:  12 \r\nAuthorization: Bearer t\r\n\r\n");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->request.method, "POST");
  EXPECT_EQ(ok->request.target, "/a/b%20c?x=1&y=2");
  EXPECT_EQ(ok->request.path, "/a/b c");
  EXPECT_EQ(ok->request.get_param_value("y"), "2");
  EXPECT_EQ(ok->request.get_header_value("Authorization"), "Bearer t");
  EXPECT_EQ(ok->content_length, 12u);
  EXPECT_TRUE(ok->has_body());
  auto chunked = parse_request_head("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
  ASSERT_TRUE(chunked);
  EXPECT_TRUE(chunked->chunked);
  EXPECT_FALSE(parse_request_head("GET / HTTP/1.1\r\nHost: x\r\n\r\n")->has_body());
  EXPECT_TRUE(parse_request_head("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n"));
  for (const char* bad : {"GET / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
                          "GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", "GET / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n",
                          "GET / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
                          "GET / HTTP/1.1\r\nContent-Length : 5\r\n\r\n", "GET / HTTP/1.1\r\n folded\r\n\r\n",
                          "GET / HTTP/1.1\r\nno colon\r\n\r\n", "GET /  HTTP/1.1\r\n\r\n", "GET / HTTP/2\r\n\r\n",
                          "GET /\x01 HTTP/1.1\r\n\r\n", "G(T / HTTP/1.1\r\n\r\n", " / HTTP/1.1\r\n\r\n"}) {
    EXPECT_FALSE(parse_request_head(bad)) << bad;
  }
}

// Issue 18 item 7: 200 idle and 30 slowloris connections made a new client wait 24 s and > 40 s.
TEST_F(ServeHostileTest, IdleAndSlowlorisConnectionsDoNotDelayANewClient) {
  auto server = start_server(hub, ServeOptions{});  // default limits, 4 workers
  std::vector<std::unique_ptr<RawClient>> idle, slow;
  for (int i = 0; i < 200; ++i) idle.push_back(std::make_unique<RawClient>(server->port()));
  for (int i = 0; i < 30; ++i) {
    slow.push_back(std::make_unique<RawClient>(server->port()));
    ASSERT_TRUE(slow.back()->send_all("GET /acme/tiny/resolve/main/config.json HTTP/1.1\r\nHo"));
  }
  std::atomic<bool> done{false};
  std::thread drip([&] {
    while (!done) {
      for (auto& s : slow) s->send_all("x");  // a header byte at a time
      std::this_thread::sleep_for(milliseconds(200));
    }
  });
  for (int i = 0; i < 5; ++i) {
    RawClient fresh(server->port());
    ASSERT_TRUE(fresh.connected());
    auto start = Clock::now();
    ASSERT_TRUE(fresh.send_all("GET /acme/tiny/resolve/main/config.json HTTP/1.1\r\nHost: x\r\n\r\n"));
    std::string res = fresh.read_response(milliseconds(3000));
    auto took = std::chrono::duration_cast<milliseconds>(Clock::now() - start);
    EXPECT_EQ(status_of(res), 200) << res;
    EXPECT_LT(took.count(), 1000) << "a new client waited " << took.count() << " ms";
  }
  done = true;
  drip.join();
  for (auto& c : idle) EXPECT_TRUE(c->connected());
}

TEST_F(ServeHostileTest, HeadDeadlineAnswers408AndIdleConnectionsAreClosed) {
  ServeOptions o;
  o.header_timeout = milliseconds(500);
  o.idle_timeout = milliseconds(700);
  auto server = start_server(hub, o);

  RawClient slow(server->port()), idle(server->port());
  ASSERT_TRUE(slow.send_all("GET /acme/tiny/resolve/main/config.json HTTP/1.1\r\n"));
  auto start = Clock::now();
  std::atomic<bool> done{false};
  std::thread drip([&] {
    while (!done && slow.send_all("X")) std::this_thread::sleep_for(milliseconds(100));
  });
  std::string res = slow.read_until_close(milliseconds(5000));
  done = true;
  drip.join();
  auto took = std::chrono::duration_cast<milliseconds>(Clock::now() - start);
  EXPECT_EQ(status_of(res), 408) << res;
  EXPECT_TRUE(slow.closed());
  EXPECT_LT(took.count(), 2500) << "bytes kept coming, but the whole head was due in 500 ms";

  EXPECT_EQ(idle.read_until_close(milliseconds(5000)), "");  // never sent a byte: closed silently
  EXPECT_TRUE(idle.closed());

  // A keep-alive connection serves several requests, then closes once idle.
  RawClient kept(server->port());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(kept.send_all("GET /acme/tiny/resolve/main/config.json HTTP/1.1\r\nHost: x\r\n\r\n"));
    EXPECT_EQ(status_of(kept.read_response(milliseconds(3000))), 200);
  }
  EXPECT_EQ(kept.read_until_close(milliseconds(5000)), "");
  EXPECT_TRUE(kept.closed());
}

TEST_F(ServeHostileTest, PipelinedRequestsAreAnsweredInOrder) {
  auto server = start_server(hub, ServeOptions{});
  RawClient c(server->port());
  const std::string get = "GET /acme/tiny/resolve/main/config.json HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_TRUE(c.send_all(get + "HEAD /acme/tiny/resolve/main/config.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  std::string both = c.read_until_close(milliseconds(3000));
  EXPECT_EQ(status_of(both), 200);
  EXPECT_NE(both.find("{\"a\": 1}HTTP/1.1 200"), std::string::npos) << both;
  EXPECT_TRUE(c.closed());
}

TEST_F(ServeHostileTest, ConnectionsPerClientAreCapped) {
  ServeOptions o;
  o.max_connections_per_client = 4;
  auto server = start_server(hub, o);
  std::vector<std::unique_ptr<RawClient>> held;
  for (int i = 0; i < 4; ++i) {
    held.push_back(std::make_unique<RawClient>(server->port()));
    ASSERT_TRUE(held.back()->send_all("GET /acme/tiny/resolve/main/config.json HTTP/1.1\r\nHost: x\r\n\r\n"));
    EXPECT_EQ(status_of(held.back()->read_response(milliseconds(3000))), 200);
  }
  RawClient over(server->port());
  std::string refused = over.read_until_close(milliseconds(3000));
  EXPECT_EQ(status_of(refused), 503) << refused;
  EXPECT_NE(refused.find("too many connections from 127.0.0.1"), std::string::npos);

  held.pop_back();  // one closes: a new connection is accepted again
  std::string res;
  for (auto until = Clock::now() + milliseconds(3000); Clock::now() < until && status_of(res) != 200;) {
    RawClient again(server->port());
    again.send_all("GET /acme/tiny/resolve/main/config.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    res = again.read_until_close(milliseconds(1000));
  }
  EXPECT_EQ(status_of(res), 200) << res;
}

// Issue 18 item 8: the answer comes from the head alone, and the bytes the server
// reads stay far below the declared body (it read 300 MB and 1 GB before).
struct BodyCase {
  const char* name;
  std::string head;
  int status;
};

TEST_F(ServeHostileTest, RefusedBodiesAreAnsweredWithoutBeingRead) {
  auto server = start_server(hub, ServeOptions{});
  const std::string paths_info = "/api/models/acme/gated/paths-info/main";
  const std::vector<BodyCase> cases = {
      {"unauthenticated 300 MB to a gated repo",
       "POST " + paths_info + " HTTP/1.1\r\nHost: x\r\nContent-Length: 300000000\r\n\r\n", 401},
      {"wrong token", "POST " + paths_info + " HTTP/1.1\r\nAuthorization: Bearer no\r\nContent-Length: 300000000\r\n\r\n", 403},
      {"1 GB to an unknown path", "POST /nothing/here HTTP/1.1\r\nContent-Length: 1000000000\r\n\r\n", 404},
      {"1 GB to an unknown repo", "POST /api/models/acme/none/paths-info/main HTTP/1.1\r\nContent-Length: 1000000000\r\n\r\n", 401},
      {"authorized but over the cap",
       "POST " + paths_info + " HTTP/1.1\r\nAuthorization: Bearer hf_right\r\nContent-Length: 2000000\r\n\r\n", 413},
      {"chunked", "POST " + paths_info + " HTTP/1.1\r\nAuthorization: Bearer hf_right\r\nTransfer-Encoding: chunked\r\n\r\n", 411},
      {"a GET with a body", "GET /acme/tiny/resolve/main/config.json HTTP/1.1\r\nContent-Length: 100000000\r\n\r\n", 400},
      {"two lengths", "POST " + paths_info + " HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400},
  };
  for (const BodyCase& c : cases) {
    SCOPED_TRACE(c.name);
    std::uint64_t before = serve_internal::ServerAccess::bytes_received(*server);
    RawClient client(server->port());
    ASSERT_TRUE(client.send_all(c.head));
    std::size_t pushed = client.push_filler(8 * 1024 * 1024, milliseconds(1500));
    std::string res = client.read_until_close(milliseconds(3000));
    EXPECT_EQ(status_of(res), c.status) << res;
    std::uint64_t read = serve_internal::ServerAccess::bytes_received(*server) - before;
    // The head, at most one 64 KiB head buffer and the 64 KiB drained before closing.
    EXPECT_GE(read, c.head.size());
    EXPECT_LE(read, 160u * 1024) << "pushed " << pushed;
    EXPECT_LT(read, ServeOptions{}.max_body_bytes);
  }
  // The gate opens for the token, and a body under the cap is read and answered.
  httplib::Client cli(server->url());
  auto ok = cli.Post(paths_info.c_str(), {{"Authorization", "Bearer hf_right"}}, R"({"paths": ["config.json"]})",
                     "application/json");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  EXPECT_NE(ok->body.find("config.json"), std::string::npos);
}

TEST_F(ServeHostileTest, BodyCapIsAnOption) {
  ServeOptions o;
  o.max_body_bytes = 100;
  auto server = start_server(hub, o);
  httplib::Client cli(server->url());
  auto big = cli.Post("/api/models/acme/tiny/paths-info/main", std::string(101, ' '), "application/json");
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 413);
  auto fits = cli.Post("/api/models/acme/tiny/paths-info/main", R"({"paths": ["config.json"]})", "application/json");
  ASSERT_TRUE(fits);
  EXPECT_EQ(fits->status, 200);
}

// Probes of what held (issue 18): they must keep holding.
TEST_F(ServeHostileTest, EncodedTraversalNulAndAbsoluteTargetsAreRefused) {
  auto server = start_server(hub, ServeOptions{});
  httplib::Client cli(server->url());
  for (const char* target : {"/acme/tiny/resolve/main/%2e%2e%2f%2e%2e%2fetc%2fpasswd", "/acme/tiny/resolve/main/%252e%252e/config.json",
                             "/acme/tiny/resolve/main/config.json%00.txt", "/acme/tiny/resolve/main/%2Fetc%2Fpasswd",
                             "/acme/tiny/resolve/main/..%5C..%5Cconfig.json", "//etc/passwd",
                             "/api/models/acme/tiny/tree/main/%2e%2e"}) {
    SCOPED_TRACE(target);
    auto res = cli.Get(target);
    ASSERT_TRUE(res);
    EXPECT_TRUE(res->status == 400 || res->status == 404) << res->status;
    EXPECT_EQ(res->body.find("root:"), std::string::npos);
  }
  RawClient absolute(server->port());
  absolute.send_all("GET http://127.0.0.1/../../etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  std::string res = absolute.read_until_close(milliseconds(3000));
  EXPECT_EQ(status_of(res), 404) << res;
  // Paths in a paths-info body are looked up, never opened.
  auto info = cli.Post("/api/models/acme/tiny/paths-info/main", R"({"paths": ["../../../../etc/passwd", "/etc/passwd"]})",
                       "application/json");
  ASSERT_TRUE(info);
  EXPECT_EQ(info->status, 200);
  EXPECT_EQ(info->body, "[]");
}

// A Range httplib cannot parse (reversed, overflowing, another unit) is answered 416
// before any handler runs; one we cannot satisfy as one range gets the whole body.
TEST_F(ServeHostileTest, RangeAbuseGetsAWholeBodyOrA416) {
  auto server = start_server(hub, ServeOptions{});
  httplib::Client cli(server->url());
  const char* path = "/acme/tiny/resolve/main/config.json";  // 8 bytes
  struct Probe {
    const char* range;
    int status;
  };
  for (Probe p : {Probe{"bytes=0-1,3-4", 200}, Probe{"bytes=99999999999999999999999-", 416}, Probe{"bytes=5-2", 416},
                  Probe{"items=0-1", 416}, Probe{"bytes=-0", 416}, Probe{"bytes=8-", 416}, Probe{"bytes=-99999", 206},
                  Probe{"bytes=0-18446744073709551615", 416}, Probe{"bytes=0-99999", 206}}) {
    SCOPED_TRACE(p.range);
    auto res = cli.Get(path, {{"Range", p.range}});
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, p.status);
    EXPECT_EQ(res->body, p.status == 416 ? "" : "{\"a\": 1}");
  }
}

TEST_F(ServeHostileTest, EveryRouteOfAGatedRepoNeedsTheToken) {
  auto server = start_server(hub, ServeOptions{});
  httplib::Client cli(server->url());
  for (const char* target : {"/api/models/acme/gated/tree/main", "/api/models/acme/gated/refs",
                             "/api/models/acme/gated/revision/main", "/acme/gated/resolve/main/config.json"}) {
    SCOPED_TRACE(target);
    auto anon = cli.Get(target);
    ASSERT_TRUE(anon);
    EXPECT_EQ(anon->status, 401);
    EXPECT_EQ(anon->get_header_value("X-Error-Code"), "GatedRepo");
    auto right = cli.Get(target, {{"Authorization", "Bearer hf_right"}});
    ASSERT_TRUE(right);
    EXPECT_EQ(right->status, 200);
  }
  auto post = cli.Post("/api/models/acme/gated/paths-info/main", R"({"paths": ["config.json"]})", "application/json");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 401);
}

// GETs `target` and expects this status and, when given, this body; a refused file's bytes never show.
void expect_get(httplib::Client& cli, const std::string& target, int status, std::optional<std::string> body = {}) {
  SCOPED_TRACE(target);
  auto res = cli.Get(target.c_str());
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, status);
  if (body) {
    EXPECT_EQ(res->body, *body);
  }
  if (status != 200) {
    EXPECT_EQ(res->body.find("not for clients"), std::string::npos);
  }
}

class ServeSymlinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    write_file(outside / "secret.txt", "not for clients");
    write_file(folder / "config.json", "{}");
    write_file(folder / "real.txt", "inside");
    std::filesystem::create_symlink(outside / "secret.txt", folder / "escape.txt");
    std::filesystem::create_symlink("real.txt", folder / "alias.txt");
  }
  std::unique_ptr<Server> serve(SymlinkPolicy policy) {
    ServeOptions o;
    o.folders.push_back({"acme/folder", RepoType::model, folder.path()});
    o.follow_symlinks = policy;
    auto s = Server::start(std::move(o));
    if (!s) throw std::runtime_error(s.error().message());
    return std::move(*s);
  }
  TempDir folder, outside;
};

TEST_F(ServeSymlinkTest, DefaultServesOnlyLinksInsideTheFolder) {
  auto server = serve(SymlinkPolicy::inside);
  httplib::Client cli(server->url());
  expect_get(cli, "/acme/folder/resolve/main/alias.txt", 200, "inside");
  expect_get(cli, "/acme/folder/resolve/main/escape.txt", 404);
  auto info = cli.Get("/api/models/acme/folder");
  ASSERT_TRUE(info);
  EXPECT_EQ(info->body.find("escape.txt"), std::string::npos);
}

TEST_F(ServeSymlinkTest, AnyFollowsLinksOutOfTheFolder) {
  auto server = serve(SymlinkPolicy::any);
  httplib::Client cli(server->url());
  expect_get(cli, "/acme/folder/resolve/main/escape.txt", 200, "not for clients");
}

TEST(ServeSymlinkCache, SnapshotLinksToBlobsAreInsideTheCache) {
  FakeHub hub;
  hub.model("acme/tiny").branch("main", {{"config.json", "{\"c\": 2}"}});
  std::filesystem::path cache = hub.write_cache();
  std::filesystem::path snapshot = cache / "models--acme--tiny" / "snapshots" / hub.commit("acme/tiny");
  TempDir outside;
  write_file(outside / "secret.txt", "not for clients");
  std::filesystem::create_symlink(outside / "secret.txt", snapshot / "escape.txt");
  ServeOptions o;
  o.cache_dir = cache;
  // The snapshot folder served on its own: its links climb to ../../blobs, which is still allowed.
  o.folders.push_back({"acme/snapshot", RepoType::model, snapshot});
  auto server = Server::start(std::move(o));
  ASSERT_TRUE(server) << server.error().message();
  httplib::Client cli((*server)->url());
  for (std::string repo : {"acme/tiny", "acme/snapshot"}) {
    SCOPED_TRACE(repo);
    expect_get(cli, "/" + repo + "/resolve/main/config.json", 200, "{\"c\": 2}");
    expect_get(cli, "/" + repo + "/resolve/main/escape.txt", 404);
  }
}

}  // namespace
}  // namespace hubload::testing
