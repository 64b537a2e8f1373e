// The libcurl transport against a real server on 127.0.0.1: no automatic
// redirects, streamed bodies, ranges, bounded collection, network failures;
// its TransferSession (many transfers, one thread), and the fault-injecting
// wrapper.
#include <gtest/gtest.h>

#include "hubload/transport.h"
#include "support/serve_fixture.h"
#include "support/fault_transport.h"

namespace hubload {
namespace {

class CurlTransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    hub.model("acme/t").branch("main", {{"config.json", "0123456789"}, {"w.safetensors", std::string(20000, 'w')}});
    testing::FakeHubOptions serve_options;
    serve_options.cdn = true;
    hub.start(serve_options);
  }
  std::string resolve(const std::string& file) const { return hub.url() + "/acme/t/resolve/main/" + file; }

  testing::FakeHub hub;
  std::shared_ptr<Transport> curl = make_curl_transport();
};

TEST_F(CurlTransportTest, RedirectIsReturnedNotFollowed) {
  HttpRequest request;
  request.method = "HEAD";
  request.url = resolve("w.safetensors");
  auto response = curl->send(request);
  ASSERT_TRUE(response) << response.error().to_string();
  EXPECT_EQ(response->status, 302);
  EXPECT_TRUE(response->headers.get("location").value_or("").starts_with(hub.cdn_url()));
  EXPECT_EQ(response->headers.get("X-LINKED-SIZE").value_or(""), "20000");
  EXPECT_EQ(hub.stats().cdn_requests, 0u);
}

TEST_F(CurlTransportTest, BodyStreamsToTheSinkAndRangesAreSent) {
  HttpRequest request;
  request.url = resolve("config.json");
  std::string received;
  request.sink = [&](std::span<const char> chunk) {
    received.append(chunk.data(), chunk.size());
    return ok();
  };
  auto whole = curl->send(request);
  ASSERT_TRUE(whole) << whole.error().to_string();
  EXPECT_EQ(whole->status, 200);
  EXPECT_EQ(received, "0123456789");
  EXPECT_TRUE(whole->body.empty());

  HttpRequest ranged;
  ranged.url = resolve("config.json");
  ranged.range = ByteRange{2, 5};
  auto part = curl->send(ranged);
  ASSERT_TRUE(part);
  EXPECT_EQ(part->status, 206);
  EXPECT_EQ(part->body, "2345");
  EXPECT_EQ(part->headers.get("content-range").value_or(""), "bytes 2-5/10");
}

TEST_F(CurlTransportTest, SinkErrorAbortsAndCollectionIsBounded) {
  HttpRequest request;
  request.url = resolve("config.json");
  request.sink = [](std::span<const char>) -> Status { return io_error("disk full (test)"); };
  auto aborted = curl->send(request);
  ASSERT_FALSE(aborted);
  EXPECT_EQ(aborted.error().kind(), ErrorKind::io);

  HttpRequest capped;
  capped.url = resolve("config.json");
  capped.max_collected_bytes = 4;
  auto too_big = curl->send(capped);
  ASSERT_FALSE(too_big);
  EXPECT_EQ(too_big.error().kind(), ErrorKind::invalid_input);
}

TEST_F(CurlTransportTest, ErrorAnswersAreResponsesAndRefusedIsNetwork) {
  HttpRequest request;
  request.url = resolve("missing.txt");
  auto missing = curl->send(request);
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(missing->headers.get("x-error-code").value_or(""), "EntryNotFound");

  HttpRequest refused;
  refused.url = "http://127.0.0.1:1/x";
  auto failed = curl->send(refused);
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().kind(), ErrorKind::network);
  EXPECT_NE(failed.error().message().find("127.0.0.1:1"), std::string::npos);
}

TEST_F(CurlTransportTest, FaultWrapperCountsAndInjects) {
  testing::FaultTransport faulty(curl);
  FaultOptions faults;
  FaultRule error;
  error.status = 503;
  error.path_pattern = "*config.json";
  error.first_requests = 1;
  FaultRule drop;
  drop.kind = FaultRule::Kind::drop;
  drop.path_pattern = "*w.safetensors*";
  drop.bytes = 100;
  drop.first_requests = 1;
  faults.rules = {error, drop};
  faulty.set_faults(faults);
  HttpRequest head;
  head.method = "HEAD";
  head.url = resolve("config.json");
  auto first = faulty.send(head);
  ASSERT_TRUE(first) << first.error().to_string();
  EXPECT_EQ(first->status, 503);
  auto second = faulty.send(head);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->status, 200);

  HttpRequest where;
  where.method = "HEAD";
  where.url = resolve("w.safetensors");
  auto redirect = curl->send(where);
  ASSERT_TRUE(redirect);
  HttpRequest get;
  get.url = redirect->headers.get("Location").value_or("");
  std::uint64_t got = 0;
  get.sink = [&](std::span<const char> c) {
    got += c.size();
    return ok();
  };
  auto dropped = faulty.send(get);
  ASSERT_FALSE(dropped);
  EXPECT_EQ(dropped.error().kind(), ErrorKind::network);
  EXPECT_EQ(got, 100u);
  EXPECT_EQ(faulty.count("HEAD"), 2);
  EXPECT_EQ(faulty.count("GET", "w.safetensors"), 1);
  EXPECT_EQ(faulty.faults_injected(), 2);
}

// Drives a session until every started transfer ended.
struct Outcome {
  int status = 0;
  std::string body;
  std::optional<Status> done;
};

TransferHandler collect(Outcome& o) {
  TransferHandler h;
  h.on_response = [&o](int status, const HttpHeaders&) { o.status = status; };
  h.on_body = [&o](std::span<const char> c) {
    o.body.append(c.data(), c.size());
    return true;
  };
  h.on_done = [&o](Status s) { o.done = std::move(s); };
  return h;
}

TEST_F(CurlTransportTest, SessionRunsRangesAtOnceAndCancelSilencesOne) {
  HttpRequest where;
  where.method = "HEAD";
  where.url = resolve("w.safetensors");
  auto redirect = curl->send(where);
  ASSERT_TRUE(redirect);
  const std::string cdn = redirect->headers.get("Location").value_or("");
  auto session = curl->open_session(4);
  ASSERT_TRUE(session) << session.error().to_string();
  std::vector<Outcome> outcomes(3);
  std::vector<TransferId> ids;
  for (int i = 0; i < 3; ++i) {
    HttpRequest r;
    r.url = cdn;
    r.range = ByteRange{static_cast<std::uint64_t>(i) * 1000, static_cast<std::uint64_t>(i) * 1000 + 999};
    auto id = (*session)->start(r, collect(outcomes[i]));
    ASSERT_TRUE(id);
    ids.push_back(*id);
  }
  (*session)->cancel(ids[1]);
  for (int turns = 0; turns < 500 && (!outcomes[0].done || !outcomes[2].done); ++turns) {
    ASSERT_TRUE((*session)->poll(std::chrono::milliseconds(20)));
  }
  for (int i : {0, 2}) {
    ASSERT_TRUE(outcomes[i].done);
    EXPECT_TRUE(*outcomes[i].done);
    EXPECT_EQ(outcomes[i].status, 206);
    EXPECT_EQ(outcomes[i].body, std::string(1000, 'w'));
  }
  EXPECT_FALSE(outcomes[1].done);
  EXPECT_TRUE(outcomes[1].body.empty());
}

TEST_F(CurlTransportTest, SessionReportsRefusedConnectionsAndStoppedBodies) {
  auto session = curl->open_session(2);
  ASSERT_TRUE(session);
  Outcome refused, stopped;
  HttpRequest r;
  r.url = "http://127.0.0.1:1/x";
  ASSERT_TRUE((*session)->start(r, collect(refused)));
  r.url = resolve("config.json");
  TransferHandler h = collect(stopped);
  h.on_body = [](std::span<const char>) { return false; };
  ASSERT_TRUE((*session)->start(r, h));
  for (int turns = 0; turns < 500 && (!refused.done || !stopped.done); ++turns) {
    ASSERT_TRUE((*session)->poll(std::chrono::milliseconds(20)));
  }
  ASSERT_TRUE(refused.done && stopped.done);
  ASSERT_FALSE(*refused.done);
  EXPECT_EQ(refused.done->error().kind(), ErrorKind::network);
  EXPECT_NE(refused.done->error().message().find("127.0.0.1:1"), std::string::npos);
  ASSERT_FALSE(*stopped.done);
  EXPECT_NE(stopped.done->error().message().find("stopped by the receiver"), std::string::npos);
  EXPECT_EQ(stopped.status, 200);
}

TEST(HttpHeadersTest, CaseInsensitiveSetGetRemove) {
  HttpHeaders h;
  h.add("X-Linked-Etag", "a");
  h.set("x-linked-etag", "b");
  EXPECT_EQ(h.entries().size(), 1u);
  EXPECT_EQ(h.get("X-LINKED-ETAG").value_or(""), "b");
  h.remove("X-Linked-ETag");
  EXPECT_FALSE(h.has("x-linked-etag"));
}

}  // namespace
}  // namespace hubload
