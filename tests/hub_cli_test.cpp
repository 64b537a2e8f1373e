// `hubload download` as a user runs it: path last on stdout, --json, exit
// codes per error kind, environment variables honoured.
#include <filesystem>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/serve_fixture.h"
#include "support/test_support.h"

namespace hubload {
namespace {

namespace fs = std::filesystem;

class HubCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    hub.model("acme/tiny").branch("main", {{"config.json", "{}"}, {"model.safetensors", std::string(100, 's')}});
    hub.start();
  }
  testing::CommandResult download(const std::string& args, const std::string& env = "") const {
    return testing::run_command(fmt::format("env -u HF_TOKEN -u HF_HUB_OFFLINE HF_HOME={}/home {} {} download {} 2>{}/err",
                                            tmp.path().string(), env, testing::cli_path().string(), args,
                                            tmp.path().string()));
  }
  std::string stderr_text() const { return testing::read_file(tmp.path() / "err"); }

  testing::TempDir tmp;
  testing::FakeHub hub;
};

TEST_F(HubCliTest, PrintsTheSnapshotPathLastAndHonoursHfEndpointAndHfHome) {
  auto result = download("acme/tiny", "HF_ENDPOINT=" + hub.url());
  ASSERT_EQ(result.exit_code, 0) << stderr_text();
  const fs::path snapshot = tmp.path() / "home/hub/models--acme--tiny/snapshots" / hub.commit("acme/tiny");
  EXPECT_EQ(result.out, snapshot.string() + "\n");
  EXPECT_EQ(testing::read_file(snapshot / "model.safetensors"), std::string(100, 's'));
}

TEST_F(HubCliTest, JsonDocumentListsFiles) {
  auto result = download(fmt::format("acme/tiny --endpoint {} --cache-dir {}/c --json", hub.url(), tmp.path().string()));
  ASSERT_EQ(result.exit_code, 0) << stderr_text();
  auto doc = nlohmann::json::parse(result.out);
  EXPECT_EQ(doc["commit"], hub.commit("acme/tiny"));
  EXPECT_EQ(doc["files"], nlohmann::json({"config.json", "model.safetensors"}));
  EXPECT_EQ(doc["from_cache"], false);
}

// The connection count the download's budget chose is in the document: a fixed
// one where --max-connections is at most --connections.
TEST_F(HubCliTest, JsonDocumentHasTheConnectionCount) {
  auto fixed = download(fmt::format("acme/tiny --endpoint {} --cache-dir {}/c --json --connections 3 --max-connections 3",
                                    hub.url(), tmp.path().string()));
  ASSERT_EQ(fixed.exit_code, 0) << stderr_text();
  EXPECT_EQ(nlohmann::json::parse(fixed.out)["connections"], 3);
  auto adaptive = download(fmt::format("acme/tiny --endpoint {} --cache-dir {}/d --json --connections 2 --max-connections 6",
                                       hub.url(), tmp.path().string()));
  ASSERT_EQ(adaptive.exit_code, 0) << stderr_text();
  const int count = nlohmann::json::parse(adaptive.out)["connections"];
  EXPECT_GE(count, 2);
  EXPECT_LE(count, 6);
}

TEST_F(HubCliTest, ErrorsHaveTheirExitCodes) {
  auto offline = download("acme/tiny --local-files-only --json");
  EXPECT_EQ(offline.exit_code, 10);
  EXPECT_EQ(nlohmann::json::parse(offline.out)["error"]["kind"], "offline");
  auto env_offline = download(fmt::format("acme/tiny --endpoint {}", hub.url()), "HF_HUB_OFFLINE=1");
  EXPECT_EQ(env_offline.exit_code, 10);
  EXPECT_EQ(hub.stats().requests.size(), 0u);
  auto bad = download("'not a/valid/id'");
  EXPECT_EQ(bad.exit_code, 3);
  EXPECT_NE(stderr_text().find("neither an existing local folder"), std::string::npos);
  auto missing = download(fmt::format("acme/none --endpoint {}", hub.url()));
  EXPECT_EQ(missing.exit_code, 4);
  auto type = download("acme/tiny --repo-type kernel");
  EXPECT_EQ(type.exit_code, 3);
}

TEST_F(HubCliTest, TokenIsNeverPrinted) {
  hub.model("acme/gated").branch("main", {{"config.json", "{}"}}).gated("hf_right");
  hub.stop();
  hub.start();
  auto wrong = download(fmt::format("acme/gated --endpoint {} --token hf_very_secret_wrong_token", hub.url()));
  EXPECT_EQ(wrong.exit_code, 9);
  EXPECT_EQ(stderr_text().find("hf_very_secret_wrong_token"), std::string::npos);
  EXPECT_EQ(wrong.out.find("hf_very_secret_wrong_token"), std::string::npos);
}

}  // namespace
}  // namespace hubload
