// Faults injected at the transport seam into the production download path
// (the transfer engine over the injected Transport): each ends in a correct
// file or a clear error, and never in a published partial blob.
#include <filesystem>

#include <gtest/gtest.h>

#include "hubload/hub.h"
#include "support/fault_transport.h"
#include "support/hub_fake_transport.h"
#include "support/test_support.h"

namespace hubload {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

FaultRule rule(FaultRule::Kind kind, std::string pattern, std::uint64_t bytes = 0, int first = -1) {
  FaultRule r;
  r.kind = kind;
  r.path_pattern = std::move(pattern);
  r.bytes = bytes;
  r.first_requests = first;
  r.retry_after_s = 0;
  return r;
}

FaultRule status(int code, std::string pattern, int first = -1) {
  FaultRule r = rule(FaultRule::Kind::http_error, std::move(pattern), 0, first);
  r.status = code;
  return r;
}

constexpr const char* kCdn = "*cdn.test*";

class HubFaultsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    hub = std::make_shared<testing::FakeHubTransport>();
    model = testing::add_fake_model(*hub, "acme/tiny");
    faulty = std::make_shared<testing::FaultTransport>(hub);
    options.cache_dir = tmp.path() / "cache";
    options.endpoint = testing::kFakeHub;
    options.transport = faulty;
    options.transfer.backoff_base = milliseconds(0);
  }
  fs::path blobs() const { return tmp.path() / "cache/models--acme--tiny/blobs"; }
  // After a success: no *.incomplete left behind.
  void expect_no_partial_blobs() const {
    if (!fs::exists(blobs())) return;
    for (auto& e : fs::directory_iterator(blobs())) {
      EXPECT_EQ(e.path().string().find(".incomplete"), std::string::npos) << e.path();
    }
  }
  // After a failure: nothing published under a blob's name; what is left is a
  // resumable *.incomplete partial at most, never a blob that looks complete.
  void expect_no_blob() const {
    if (!fs::exists(blobs())) return;
    for (auto& e : fs::directory_iterator(blobs())) {
      EXPECT_NE(e.path().string().find(".incomplete"), std::string::npos) << e.path();
    }
  }

  testing::TempDir tmp;
  std::shared_ptr<testing::FakeHubTransport> hub;
  std::shared_ptr<testing::FaultTransport> faulty;
  testing::FakeTransportModel model;
  HubOptions options;
};

const char* kShard = "model-00002-of-00002.safetensors";

TEST_F(HubFaultsTest, DropMidTransferResumesWhereItStopped) {
  faulty->set_rule(rule(FaultRule::Kind::drop, kCdn, 3000, 1));
  auto path = hub_download("acme/tiny", kShard, options);
  ASSERT_TRUE(path) << path.error().to_string();
  EXPECT_EQ(testing::read_file(*path), std::string(7000, 'y'));
  ASSERT_EQ(faulty->count("GET", testing::kFakeCdn), 2);
  // The engine asks only for the bytes it lacks.
  const auto requests = faulty->requests();
  ASSERT_TRUE(requests.back().range);
  EXPECT_EQ(requests.back().range->first, 3000u);
  expect_no_partial_blobs();
}

TEST_F(HubFaultsTest, PersistentDropEndsInANetworkErrorAndNoBlob) {
  faulty->set_rule(rule(FaultRule::Kind::drop, kCdn, 0));
  options.transfer.max_attempts = 2;
  auto path = hub_download("acme/tiny", kShard, options);
  ASSERT_FALSE(path);
  EXPECT_EQ(path.error().kind(), ErrorKind::network);
  EXPECT_NE(path.error().message().find("giving up after 2 attempts"), std::string::npos) << path.error().to_string();
  EXPECT_NE(path.error().message().find("Connection reset by peer (injected)"), std::string::npos);
  EXPECT_EQ(faulty->count("GET", testing::kFakeCdn), 3);
  expect_no_blob();
  EXPECT_FALSE(fs::exists(tmp.path() / "cache/models--acme--tiny/snapshots" / model.main_commit / kShard));
}

TEST_F(HubFaultsTest, StallEndsInANetworkErrorAndNoBlob) {
  FaultRule stall = rule(FaultRule::Kind::stall, kCdn, 100);
  stall.seconds = 60;
  faulty->set_rule(stall);
  options.transfer.stall_timeout = milliseconds(200);
  options.transfer.max_attempts = 0;
  auto path = hub_download("acme/tiny", kShard, options);
  ASSERT_FALSE(path);
  EXPECT_EQ(path.error().kind(), ErrorKind::network);
  EXPECT_NE(path.error().message().find("no data for 200 ms"), std::string::npos) << path.error().to_string();
  expect_no_blob();
}

TEST_F(HubFaultsTest, ServerErrorOnTheFileIsRetried) {
  faulty->set_rule(status(503, kCdn, 1));
  auto path = hub_download("acme/tiny", kShard, options);
  ASSERT_TRUE(path) << path.error().to_string();
  EXPECT_EQ(testing::read_file(*path), std::string(7000, 'y'));
  EXPECT_EQ(faulty->count("GET", testing::kFakeCdn), 2);
}

TEST_F(HubFaultsTest, ServerErrorOnMetadataIsANetworkErrorWithoutCache) {
  faulty->set_rule(status(503, "*/resolve/*"));
  auto path = hub_download("acme/tiny", "config.json", options);
  ASSERT_FALSE(path);
  EXPECT_EQ(path.error().kind(), ErrorKind::network);
  EXPECT_NE(path.error().message().find("503"), std::string::npos);
}

TEST_F(HubFaultsTest, RateLimitIsReportedWithRetryAfter) {
  FaultRule limited = status(429, "*/api/*");
  limited.retry_after_s = 1;
  faulty->set_rule(limited);
  DownloadOptions download;
  download.hub = options;
  auto result = download_model("acme/tiny", download);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().kind(), ErrorKind::rate_limited);
  EXPECT_NE(result.error().message().find("retry after 1"), std::string::npos);
}

// As in production: a 429 on the bytes is waited out (RateLimit t + 1 s), then
// retried; when it persists the file fails as rate limited, with no blob.
TEST_F(HubFaultsTest, RateLimitOnTheFileIsWaitedOutThenFails) {
  faulty->set_rule(status(429, kCdn));
  options.transfer.max_attempts = 1;
  auto path = hub_download("acme/tiny", kShard, options);
  ASSERT_FALSE(path);
  EXPECT_EQ(path.error().kind(), ErrorKind::rate_limited);
  EXPECT_EQ(faulty->count("GET", testing::kFakeCdn), 2);
  expect_no_blob();
}

TEST_F(HubFaultsTest, CorruptBytesAreFetchedOnceMoreThenAnIntegrityError) {
  faulty->set_rule(rule(FaultRule::Kind::corrupt, kCdn, 10));
  auto path = hub_download("acme/tiny", kShard, options);
  ASSERT_FALSE(path);
  EXPECT_EQ(path.error().kind(), ErrorKind::integrity);
  EXPECT_NE(path.error().message().find("but the expected hash is"), std::string::npos);
  EXPECT_EQ(faulty->count("GET", testing::kFakeCdn), 2);
  EXPECT_FALSE(fs::exists(tmp.path() / "cache/models--acme--tiny/snapshots" / model.main_commit / kShard));
}

TEST_F(HubFaultsTest, ServerIgnoringRangesStillGivesTheFile) {
  faulty->set_rule(rule(FaultRule::Kind::ignore_range, kCdn));
  auto path = hub_download("acme/tiny", kShard, options);
  ASSERT_TRUE(path) << path.error().to_string();
  EXPECT_EQ(testing::read_file(*path), std::string(7000, 'y'));
}

TEST_F(HubFaultsTest, CachedFileIsServedWhenTheHubIsDown) {
  ASSERT_TRUE(hub_download("acme/tiny", "config.json", options));
  faulty->set_rule(status(503, "*"));
  std::vector<std::string> warnings;
  options.on_warning = [&](std::string_view w) { warnings.emplace_back(w); };
  auto path = hub_download("acme/tiny", "config.json", options);
  ASSERT_TRUE(path) << path.error().to_string();
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("could not be reached"), std::string::npos);
}

}  // namespace
}  // namespace hubload
