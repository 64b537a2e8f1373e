// The libcurl transport against a real server on 127.0.0.1: no automatic
// redirects, streamed bodies, ranges, bounded collection, network failures;
// and the fault-injecting wrapper.
#include <gtest/gtest.h>

#include "hubload/transport.h"
#include "support/serve_fixture.h"
#include "transport/fault_transport.h"

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
  FaultInjectingTransport faulty(curl);
  faulty.add_rule({Fault::drop, "GET", "w.safetensors", 1, 100});
  faulty.add_rule({Fault::server_error, "HEAD", "", 1, 0});
  HttpRequest head;
  head.method = "HEAD";
  head.url = resolve("config.json");
  auto first = faulty.send(head);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 503);
  auto second = faulty.send(head);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->status, 200);

  HttpRequest get;
  get.url = hub.url() + "/acme/t/resolve/main/w.safetensors";
  std::uint64_t got = 0;
  get.sink = [&](std::span<const char> c) {
    got += c.size();
    return ok();
  };
  // The 302 answer has no 2xx body to cut: the wrapper still fails the exchange.
  auto dropped = faulty.send(get);
  ASSERT_FALSE(dropped);
  EXPECT_EQ(dropped.error().kind(), ErrorKind::network);
  EXPECT_EQ(faulty.count("HEAD"), 2);
  EXPECT_EQ(faulty.count("GET", "w.safetensors"), 1);
  EXPECT_EQ(faulty.faults_injected(), 2);
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
