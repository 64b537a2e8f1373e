// Only http and https are ever fetched, and an https chain never falls to
// plain http: the checks themselves, and libcurl refusing the other schemes.
#include <gtest/gtest.h>

#include "hubload/transport.h"
#include "support/error_expect.h"
#include "support/hostile_server.h"

namespace hubload {
namespace {

using testing::fails_with;

TEST(TransportSchemes, OnlyHttpAndHttpsAreFetchable) {
  EXPECT_TRUE(check_fetchable_url("http://127.0.0.1:1/x"));
  EXPECT_TRUE(check_fetchable_url("HTTPS://cdn.example/x"));
  for (const char* url : {"file:///etc/hostname", "gopher://127.0.0.1:70/_x", "dict://127.0.0.1/x",
                          "ftp://127.0.0.1/x", "ldap://h/x", "no-scheme", "", "http:/one-slash"}) {
    EXPECT_TRUE(fails_with(check_fetchable_url(url), ErrorKind::invalid_input, "only http:// and https://")) << url;
  }
  // The URL is quoted made safe for a terminal.
  const Status escaped = check_fetchable_url("file:///x\x1b[2J");
  ASSERT_FALSE(escaped);
  EXPECT_EQ(escaped.error().message().find('\x1b'), std::string::npos);
}

TEST(TransportSchemes, RedirectsNeverFallFromHttpsToHttp) {
  EXPECT_TRUE(check_redirect_target("https://hub/x", "https://cdn/y"));
  EXPECT_TRUE(check_redirect_target("http://hub/x", "http://cdn/y"));
  EXPECT_TRUE(check_redirect_target("http://hub/x", "https://cdn/y"));
  EXPECT_TRUE(fails_with(check_redirect_target("https://hub/x", "http://cdn/y"), ErrorKind::invalid_input,
                         "falls from https to plain http"));
  EXPECT_TRUE(fails_with(check_redirect_target("HTTPS://hub/x", "HTTP://cdn/y"), ErrorKind::invalid_input));
  EXPECT_TRUE(fails_with(check_redirect_target("http://hub/x", "file:///etc/passwd"), ErrorKind::invalid_input));
}

TEST(TransportSchemes, CurlRefusesOtherSchemesAtOnce) {
  testing::HangGuard guard(std::chrono::seconds(20), "curl and file:///dev/zero");
  auto transport = make_curl_transport();
  for (const char* url : {"file:///etc/hostname", "file:///dev/zero", "gopher://127.0.0.1:1/_x", "dict://127.0.0.1:1/x"}) {
    HttpRequest request;
    request.url = url;
    Result<HttpResponse> response = transport->send(request);
    EXPECT_TRUE(fails_with(response, ErrorKind::invalid_input, "only http:// and https://")) << url;
  }
}

TEST(TransportSchemes, ADripFailsWithinTheMinimumRateWindowAndTheTotalDeadline) {
  // Headers, then one byte a second for ever.
  testing::HostileServer drip([](const testing::HostileRequest&, testing::HostileConnection& c) {
    if (!c.send("HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n")) return;
    while (c.send("x") && c.pause(std::chrono::seconds(1))) {
    }
  });
  // 4 KiB every 100 ms for ever: fast enough for the rate, never done.
  testing::HostileServer endless([](const testing::HostileRequest&, testing::HostileConnection& c) {
    if (!c.send("HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n\r\n")) return;
    const std::string chunk(4096, 'y');
    while (c.send(chunk) && c.pause(std::chrono::milliseconds(100))) {
    }
  });
  testing::HangGuard guard(std::chrono::seconds(30), "drip and endless answers");
  auto transport = make_curl_transport();

  HttpRequest slow;
  slow.url = drip.url("/x");
  slow.stall_timeout = std::chrono::seconds(1);
  slow.min_rate = 1024;
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(fails_with(transport->send(slow), ErrorKind::network));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));

  HttpRequest long_one;
  long_one.url = endless.url("/x");
  long_one.stall_timeout = std::chrono::seconds(1);
  long_one.min_rate = 1024;
  long_one.total_timeout = std::chrono::milliseconds(1500);
  long_one.max_collected_bytes = 1ull << 30;
  start = std::chrono::steady_clock::now();
  EXPECT_TRUE(fails_with(transport->send(long_one), ErrorKind::network));
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, std::chrono::milliseconds(1400));
  EXPECT_LT(took, std::chrono::seconds(5));
}

}  // namespace
}  // namespace hubload
