// The transfer engine against a hostile origin on 127.0.0.1 (issue 18):
// redirects to other schemes and in loops, retries that progress cannot keep
// alive for ever, drips under the minimum rate, requests past their deadline,
// and a file name of 255 bytes. HangGuard turns a hang into a failure.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <string>

#include "hubload/transfer.h"
#include "support/error_expect.h"
#include "support/hostile_server.h"
#include "support/test_support.h"
#include "util/digest.h"

namespace hubload {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::fails_with;
using testing::HostileConnection;
using testing::HostileRequest;
using testing::HostileServer;

TransferOptions fast_retries() {
  TransferOptions options;
  options.connections = 1;
  options.backoff_base = milliseconds(1);
  options.backoff_max = milliseconds(10);
  options.stall_timeout = seconds(1);
  return options;
}

TransferFile file_at(const HostileServer& origin, const testing::TempDir& dir, const std::string& content,
                     const std::string& name = "file.bin") {
  TransferFile file;
  file.url = origin.url("/" + std::to_string(content.size()));
  file.dest = dir.path() / name;
  file.size = content.size();
  file.expected_hash = util_internal::sha256_hex(content);
  return file;
}

// The range a request asks for ("bytes=a-b", or the whole file), and the head
// of a 206 answering it in full.
struct RangeAnswer {
  std::size_t first = 0, last = 0;
  std::string head;
};
RangeAnswer answer_range(const HostileRequest& r, std::size_t size) {
  RangeAnswer a{0, size - 1, {}};
  const std::string range = r.header("Range").value_or("");
  if (range.starts_with("bytes=")) {
    const auto dash = range.find('-');
    a.first = std::stoull(range.substr(6, dash - 6));
    if (dash + 1 < range.size()) a.last = std::stoull(range.substr(dash + 1));
  }
  a.head = "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes " + std::to_string(a.first) + "-" +
           std::to_string(a.last) + "/" + std::to_string(size) + "\r\nContent-Length: " +
           std::to_string(a.last - a.first + 1) + "\r\nConnection: close\r\n\r\n";
  return a;
}

// One download, its result and how long it took; HangGuard fails it at `limit`.
struct Timed {
  Result<TransferStats> stats;
  std::chrono::steady_clock::duration took;
};
Timed timed_download(TransferFile& file, const TransferOptions& options, const std::string& what,
                     seconds limit = seconds(30)) {
  testing::HangGuard guard(limit, what);
  const auto start = std::chrono::steady_clock::now();
  Result<TransferStats> stats = download_files(std::span(&file, 1), options);
  return {std::move(stats), std::chrono::steady_clock::now() - start};
}

TEST(TransferHostile, RedirectsToOtherSchemesAreRefusedAndReachNothing) {
  HostileServer listener([](const HostileRequest&, HostileConnection& c) { c.send("ok"); });
  const std::string port = std::to_string(listener.port());
  const std::string content(5000, 'c');
  for (const std::string& location : {"gopher://127.0.0.1:" + port + "/_x", "dict://127.0.0.1:" + port + "/x",
                                     "ftp://127.0.0.1:" + port + "/x", std::string("file:///etc/hostname"),
                                     std::string("file:///dev/zero")}) {
    HostileServer origin([&](const HostileRequest&, HostileConnection& c) {
      c.send(testing::http_answer(302, "Location: " + location + "\r\n"));
    });
    testing::TempDir dir;
    TransferFile file = file_at(origin, dir, content);
    const Timed run = timed_download(file, fast_retries(), "engine redirected to " + location);
    EXPECT_LT(run.took, seconds(5)) << location;
    EXPECT_TRUE(fails_with(run.stats, ErrorKind::invalid_input, "only http:// and https://")) << location;
    EXPECT_EQ(origin.requests(), 1) << location;  // refused, not retried
    EXPECT_FALSE(fs::exists(file.dest));
  }
  EXPECT_EQ(listener.connections(), 0);
}

TEST(TransferHostile, ARedirectLoopEndsAfterTheHopLimit) {
  HostileServer origin([](const HostileRequest& r, HostileConnection& c) {
    c.send(testing::http_answer(302, "Location: " + r.target + "\r\n"));
  });
  testing::TempDir dir;
  TransferFile file = file_at(origin, dir, std::string(100, 'l'));
  EXPECT_TRUE(fails_with(timed_download(file, fast_retries(), "redirect loop").stats, ErrorKind::invalid_input, "HTTP 302"));
  EXPECT_LE(origin.requests(), 6);
}

// Each answer brings 100 new bytes, then the connection drops: progress resets
// the attempts in a row, but not the attempts in all.
TEST(TransferHostile, AttemptsInAllAreBoundedEvenWhenEachMakesProgress) {
  const std::string content(50000, 'p');
  HostileServer origin([&](const HostileRequest& r, HostileConnection& c) {
    const RangeAnswer a = answer_range(r, content.size());
    c.send(a.head + content.substr(a.first, 100));
  });
  testing::TempDir dir;
  TransferFile file = file_at(origin, dir, content);
  TransferOptions options = fast_retries();
  options.max_total_attempts = 5;
  const Timed run = timed_download(file, options, "progressing drops");
  EXPECT_LT(run.took, seconds(5));
  EXPECT_TRUE(fails_with(run.stats, ErrorKind::network, "giving up after 5 attempts in all"));
  EXPECT_EQ(origin.requests(), 6);
}

// A byte a second: under the minimum rate, each attempt is stopped after one
// window, and the attempts in all end the file.
TEST(TransferHostile, ADripFailsWithinTheMinimumRateWindows) {
  const std::string content(100000, 'd');
  HostileServer origin([&](const HostileRequest& r, HostileConnection& c) {
    const RangeAnswer a = answer_range(r, content.size());
    if (!c.send(a.head)) return;
    for (std::size_t at = a.first; at <= a.last && c.send(content.substr(at, 1)) && c.pause(seconds(1)); ++at) {
    }
  });
  testing::TempDir dir;
  TransferFile file = file_at(origin, dir, content);
  TransferOptions options = fast_retries();
  options.max_total_attempts = 2;
  const Timed run = timed_download(file, options, "drip", seconds(60));
  EXPECT_TRUE(fails_with(run.stats, ErrorKind::network, "under the minimum of 1024 bytes/s"));
  EXPECT_LT(run.took, seconds(8));  // 3 windows of 1 s, and the loop's own slack
  EXPECT_EQ(origin.requests(), 3);
}

// Fast enough for the rate, but never done: the request deadline cuts it.
TEST(TransferHostile, ARequestEndsAtItsDeadline) {
  const std::string content(64 << 20, 'e');
  HostileServer origin([&](const HostileRequest& r, HostileConnection& c) {
    const RangeAnswer a = answer_range(r, content.size());
    if (!c.send(a.head)) return;
    for (std::size_t at = a.first; at <= a.last && c.send(content.substr(at, 8192)) && c.pause(milliseconds(50));
         at += 8192) {
    }
  });
  testing::TempDir dir;
  TransferFile file = file_at(origin, dir, content);
  TransferOptions options = fast_retries();
  options.request_deadline = milliseconds(1500);
  options.max_total_attempts = 1;
  const Timed run = timed_download(file, options, "endless request");
  EXPECT_TRUE(fails_with(run.stats, ErrorKind::network, "the request took longer than 1500 ms"));
  EXPECT_GE(run.took, milliseconds(3000));  // two attempts of 1.5 s
  EXPECT_LT(run.took, seconds(8));
}

// A file name of 255 bytes, the longest a file system takes: its partial,
// journal and lock get shorter names, and the file lands under its own.
TEST(TransferHostile, AFileNameOf255BytesDownloads) {
  const std::string content = "long name\n";
  HostileServer origin([&](const HostileRequest&, HostileConnection& c) {
    c.send(testing::http_answer(200, {}, content));
  });
  testing::TempDir dir;
  const std::string name = std::string(250, 'n') + ".json";
  TransferFile file = file_at(origin, dir, content, name);
  const Timed run = timed_download(file, fast_retries(), "long name");
  ASSERT_TRUE(run.stats) << run.stats.error().to_string();
  EXPECT_EQ(testing::read_file(dir.path() / name), content);
}

}  // namespace
}  // namespace hubload
