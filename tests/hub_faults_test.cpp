// Faults injected at the transport seam: each ends in a correct file or a
// clear error, and never in a published partial blob.
#include <filesystem>

#include <gtest/gtest.h>

#include "hubload/hub.h"
#include "support/hub_fake_transport.h"
#include "support/test_support.h"
#include "transport/fault_transport.h"

namespace hubload {
namespace {

namespace fs = std::filesystem;

class HubFaultsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    hub = std::make_shared<testing::FakeHubTransport>();
    model = testing::add_fake_model(*hub, "acme/tiny");
    faulty = std::make_shared<FaultInjectingTransport>(hub);
    options.cache_dir = tmp.path() / "cache";
    options.endpoint = testing::kFakeHub;
    options.transport = faulty;
    options.retry_backoff_ms = 0;
  }
  fs::path blobs() const { return tmp.path() / "cache/models--acme--tiny/blobs"; }
  // Only complete, correctly named blobs: no *.incomplete left behind.
  void expect_no_partial_blobs() const {
    if (!fs::exists(blobs())) return;
    for (auto& e : fs::directory_iterator(blobs())) {
      EXPECT_EQ(e.path().string().find(".incomplete"), std::string::npos) << e.path();
    }
  }

  testing::TempDir tmp;
  std::shared_ptr<testing::FakeHubTransport> hub;
  std::shared_ptr<FaultInjectingTransport> faulty;
  testing::FakeTransportModel model;
  HubOptions options;
};

const char* kShard = "model-00002-of-00002.safetensors";

TEST_F(HubFaultsTest, DropMidTransferIsRetriedToACorrectFile) {
  faulty->add_rule({Fault::drop, "GET", testing::kFakeCdn, 1, 3000});
  auto path = hub_download("acme/tiny", kShard, options);
  ASSERT_TRUE(path) << path.error().to_string();
  EXPECT_EQ(testing::read_file(*path), std::string(7000, 'y'));
  EXPECT_EQ(faulty->count("GET", testing::kFakeCdn), 2);
  expect_no_partial_blobs();
}

TEST_F(HubFaultsTest, PersistentDropEndsInANetworkErrorAndNoBlob) {
  faulty->add_rule({Fault::drop, "GET", testing::kFakeCdn, -1, 3000});
  options.max_retries = 2;
  auto path = hub_download("acme/tiny", kShard, options);
  ASSERT_FALSE(path);
  EXPECT_EQ(path.error().kind(), ErrorKind::network);
  EXPECT_NE(path.error().message().find("after 3 attempts"), std::string::npos);
  EXPECT_EQ(faulty->count("GET", testing::kFakeCdn), 3);
  expect_no_partial_blobs();
  EXPECT_FALSE(fs::exists(tmp.path() / "cache/models--acme--tiny/snapshots" / model.main_commit / kShard));
}

TEST_F(HubFaultsTest, StallEndsInANetworkErrorAndNoBlob) {
  faulty->add_rule({Fault::stall, "GET", testing::kFakeCdn, -1, 100});
  options.max_retries = 0;
  auto path = hub_download("acme/tiny", kShard, options);
  ASSERT_FALSE(path);
  EXPECT_EQ(path.error().kind(), ErrorKind::network);
  EXPECT_NE(path.error().message().find("stalled"), std::string::npos);
  expect_no_partial_blobs();
}

TEST_F(HubFaultsTest, ServerErrorOnTheFileIsRetried) {
  faulty->add_rule({Fault::server_error, "GET", testing::kFakeCdn, 1, 0});
  auto path = hub_download("acme/tiny", kShard, options);
  ASSERT_TRUE(path) << path.error().to_string();
  EXPECT_EQ(testing::read_file(*path), std::string(7000, 'y'));
}

TEST_F(HubFaultsTest, ServerErrorOnMetadataIsANetworkErrorWithoutCache) {
  faulty->add_rule({Fault::server_error, "HEAD", "", -1, 0});
  auto path = hub_download("acme/tiny", "config.json", options);
  ASSERT_FALSE(path);
  EXPECT_EQ(path.error().kind(), ErrorKind::network);
  EXPECT_NE(path.error().message().find("503"), std::string::npos);
}

TEST_F(HubFaultsTest, RateLimitIsReportedWithRetryAfter) {
  faulty->add_rule({Fault::rate_limit, "GET", "/api/", -1, 0});
  DownloadOptions download;
  download.hub = options;
  auto result = download_model("acme/tiny", download);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().kind(), ErrorKind::rate_limited);
  EXPECT_NE(result.error().message().find("retry after 1"), std::string::npos);
}

TEST_F(HubFaultsTest, RateLimitOnTheFileIsNotRetriedAndLeavesNoBlob) {
  faulty->add_rule({Fault::rate_limit, "GET", testing::kFakeCdn, -1, 0});
  auto path = hub_download("acme/tiny", kShard, options);
  ASSERT_FALSE(path);
  EXPECT_EQ(path.error().kind(), ErrorKind::rate_limited);
  EXPECT_EQ(faulty->count("GET", testing::kFakeCdn), 1);
  expect_no_partial_blobs();
}

TEST_F(HubFaultsTest, CachedFileIsServedWhenTheHubIsDown) {
  ASSERT_TRUE(hub_download("acme/tiny", "config.json", options));
  faulty->add_rule({Fault::drop, "", "", -1, 0});
  std::vector<std::string> warnings;
  options.on_warning = [&](std::string_view w) { warnings.emplace_back(w); };
  auto path = hub_download("acme/tiny", "config.json", options);
  ASSERT_TRUE(path) << path.error().to_string();
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("could not be reached"), std::string::npos);
}

}  // namespace
}  // namespace hubload
