// Gated repos, renamed repos, and the CDN redirect for LFS files.
#include <gtest/gtest.h>
#include <httplib.h>

#include "serve/hash.h"
#include "util/digest.h"
#include "support/serve_fixture.h"

namespace hubload::testing {
namespace {

const std::string kWeights(5000, 'q');

class ServeAccessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    hub.model("acme/tiny").branch("main", {{"config.json", "{}"}, {"model.safetensors", kWeights}})
        .renamed_from("old-org/tiny");
    hub.model("acme/gated").branch("main", {{"config.json", "{\"g\": 1}"}}).gated("hf_right");
  }
  FakeHub hub;
};

TEST_F(ServeAccessTest, GatedRepoNeedsTheRightToken) {
  hub.start();
  httplib::Client cli(hub.url());
  EXPECT_TRUE(hub_error(cli.Head("/acme/gated/resolve/main/config.json"), 401, "GatedRepo"));
  EXPECT_TRUE(hub_error(cli.Head("/acme/gated/resolve/main/config.json", {{"Authorization", "Bearer hf_wrong"}}), 403,
                        "GatedRepo"));
  auto right = cli.Get("/acme/gated/resolve/main/config.json", {{"Authorization", "Bearer hf_right"}});
  ASSERT_TRUE(right);
  EXPECT_EQ(right->status, 200);
  EXPECT_EQ(right->body, "{\"g\": 1}");
  EXPECT_TRUE(hub_error(cli.Get("/api/models/acme/gated"), 401, "GatedRepo"));
}

TEST_F(ServeAccessTest, RenamedRepoAnswersRelative307) {
  hub.start();
  httplib::Client cli(hub.url());
  EXPECT_TRUE(answered(cli.Head("/old-org/tiny/resolve/main/config.json"), 307, "Location",
                       "/acme/tiny/resolve/main/config.json"));
  EXPECT_TRUE(answered(cli.Get("/api/models/old-org/tiny/revision/main"), 307, "Location",
                       "/api/models/acme/tiny/revision/main"));
}

TEST_F(ServeAccessTest, CdnModeRedirectsLfsFilesWithLinkedHeaders) {
  hub.start(FakeHubOptions().with_cdn());
  ASSERT_NE(hub.server().cdn_port(), 0);
  ASSERT_NE(hub.server().cdn_port(), hub.server().port());
  httplib::Client cli(hub.url());
  auto head = cli.Head("/acme/tiny/resolve/main/model.safetensors");
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 302);
  const std::string sha = util_internal::sha256_hex(kWeights);
  EXPECT_EQ(head->get_header_value("X-Linked-Etag"), "\"" + sha + "\"");
  EXPECT_EQ(head->get_header_value("X-Linked-Size"), "5000");
  EXPECT_EQ(head->get_header_value("X-Repo-Commit"), hub.commit("acme/tiny"));
  EXPECT_EQ(head->get_header_value("ETag"), "\"" + util_internal::git_blob_sha1_hex(serve_internal::lfs_pointer(sha, 5000)) + "\"");
  std::string location = head->get_header_value("Location");
  const std::string prefix = hub.cdn_url() + "/blobs/" + sha + "?";
  ASSERT_EQ(location.rfind(prefix, 0), 0u) << location;

  httplib::Client cdn(hub.cdn_url());
  std::string target = location.substr(hub.cdn_url().size());
  auto get = cdn.Get(target.c_str());
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 200);
  EXPECT_EQ(get->body, kWeights);
  auto range = cdn.Get(target.c_str(), {{"Range", "bytes=4990-"}});
  ASSERT_TRUE(range);
  EXPECT_EQ(range->status, 206);
  EXPECT_EQ(range->get_header_value("Content-Range"), "bytes 4990-4999/5000");

  ServeStats s = hub.stats();
  EXPECT_EQ(s.cdn_requests, 2u);
  EXPECT_FALSE(hub.cdn_saw_authorization());
  ASSERT_TRUE(cdn.Head(target.c_str(), {{"Authorization", "Bearer leaked"}}));
  EXPECT_TRUE(hub.cdn_saw_authorization());
}

TEST_F(ServeAccessTest, CdnRefusesUnsignedUrlsAndSmallFilesStayDirect) {
  hub.start(FakeHubOptions().with_cdn());
  httplib::Client cli(hub.url());
  auto small = cli.Head("/acme/tiny/resolve/main/config.json");
  ASSERT_TRUE(small);
  EXPECT_EQ(small->status, 200);
  auto head = cli.Head("/acme/tiny/resolve/main/model.safetensors");
  ASSERT_TRUE(head);
  std::string location = head->get_header_value("Location");
  std::string target = location.substr(hub.cdn_url().size());
  target.back() = target.back() == '0' ? '1' : '0';  // break the signature
  httplib::Client cdn(hub.cdn_url());
  auto forged = cdn.Get(target.c_str());
  ASSERT_TRUE(forged);
  EXPECT_EQ(forged->status, 403);
}

}  // namespace
}  // namespace hubload::testing
