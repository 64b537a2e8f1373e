// `hubload inspect --remote` and `hubload plan --remote` as a user runs them,
// against an in-process `hubload serve` on 127.0.0.1: no weights downloaded,
// the same plan as after a full download, and no request the second time.
#include <filesystem>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/serve_fixture.h"
#include "support/test_support.h"
#include "support/tp_models.h"

namespace hubload {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class RemoteCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // A Llama with a 2 MiB embedding: its weights dwarf the 100 001-byte header read.
    const testing::TinyDims dims{.hidden = 256, .heads = 8, .kv_heads = 2, .head_dim = 32, .intermediate = 512,
                                 .vocab = 4096};
    testing::write_tiny_model(tmp / "model", "llama", dims, DType::BF16);
    weights = testing::read_file(tmp / "model" / "model.safetensors");
    hub.model("acme/llama").branch("main", {{"config.json", testing::read_file(tmp / "model" / "config.json")},
                                            {"model.safetensors", weights}});
    testing::FakeHubOptions serve_options;
    serve_options.cdn = true;
    hub.start(serve_options);
  }
  std::string hub_flags(const std::string& cache) const {
    return fmt::format("--endpoint {} --cache-dir {} --no-token", hub.url(), (tmp / cache).string());
  }
  testing::CommandResult cli(const std::string& args) const {
    return testing::run_command(fmt::format("{} {}", testing::cli_path().string(), args));
  }
  // `download` prints the snapshot folder as its last line.
  static std::string snapshot_of(const testing::CommandResult& download) {
    const std::string out = download.out.substr(0, download.out.find_last_not_of('\n') + 1);
    return out.substr(out.find_last_of('\n') + 1);
  }
  // Sizes of the blobs in a cache: weights would be a blob as large as the file.
  std::uint64_t largest_blob(const std::string& cache) const {
    std::uint64_t largest = 0;
    const fs::path blobs = tmp / cache / "models--acme--llama" / "blobs";
    if (!fs::exists(blobs)) return 0;
    for (const auto& e : fs::directory_iterator(blobs)) largest = std::max<std::uint64_t>(largest, e.file_size());
    return largest;
  }

  testing::TempDir tmp;
  testing::FakeHub hub;
  std::string weights;
};

TEST_F(RemoteCliTest, PlanRemoteEqualsThePlanOfAFullDownload) {
  ASSERT_GT(weights.size(), 4u * 1024 * 1024);
  auto skip = cli("download acme/llama --skip-weights " + hub_flags("headers"));
  ASSERT_EQ(skip.exit_code, 0) << skip.out;
  hub.server().reset_stats();
  auto remote = cli("plan acme/llama --tp 2 --remote --json " + hub_flags("headers"));
  ASSERT_EQ(remote.exit_code, 0) << remote.out;
  // config.json came with the download; the plan cost one HEAD and one 100 001-byte Range read.
  EXPECT_EQ(hub.stats().bytes_sent, 100'001u);
  EXPECT_LT(largest_blob("headers"), 64u * 1024);

  auto full = cli("download acme/llama " + hub_flags("full"));
  ASSERT_EQ(full.exit_code, 0) << full.out;
  auto local = cli(fmt::format("plan {} --tp 2 --json", snapshot_of(full)));
  ASSERT_EQ(local.exit_code, 0) << local.out;
  EXPECT_EQ(json::parse(remote.out), json::parse(local.out));

  hub.server().reset_stats();
  auto again = cli("plan acme/llama --tp 2 --remote --json " + hub_flags("headers"));
  ASSERT_EQ(again.exit_code, 0) << again.out;
  EXPECT_EQ(again.out, remote.out);
  EXPECT_TRUE(hub.stats().requests.empty());
}

TEST_F(RemoteCliTest, PlanRemoteOnAnEmptyCacheFetchesOnlyConfigAndHeaders) {
  auto plan = cli("plan acme/llama --tp 2 --remote " + hub_flags("empty"));
  ASSERT_EQ(plan.exit_code, 0) << plan.out;
  EXPECT_NE(plan.out.find("rank 1:"), std::string::npos) << plan.out;
  const std::string config = testing::read_file(tmp / "model" / "config.json");
  EXPECT_EQ(hub.stats().bytes_sent, 100'001u + config.size());
  EXPECT_LT(largest_blob("empty"), 64u * 1024);
}

TEST_F(RemoteCliTest, InspectRemoteListsWhatInspectOfTheDownloadLists) {
  auto remote = cli("inspect acme/llama --remote --json " + hub_flags("headers"));
  ASSERT_EQ(remote.exit_code, 0) << remote.out;
  EXPECT_EQ(hub.stats().bytes_sent, 100'001u);
  auto local = cli(fmt::format("inspect {} --json", (tmp / "model").string()));
  ASSERT_EQ(local.exit_code, 0) << local.out;
  json r = json::parse(remote.out), l = json::parse(local.out);
  EXPECT_EQ(r["tensors"], l["tensors"]);
  EXPECT_EQ(r["totals"], l["totals"]);
  EXPECT_EQ(r["root"], fmt::format("{}/acme/llama/resolve/{}", hub.url(), hub.commit("acme/llama")));
  auto table = cli("inspect acme/llama --remote " + hub_flags("headers"));
  ASSERT_EQ(table.exit_code, 0) << table.out;
  EXPECT_NE(table.out.find("model.embed_tokens.weight"), std::string::npos) << table.out;
}

TEST_F(RemoteCliTest, RemoteErrorsExitWithTheirKindsCode) {
  auto missing = cli("inspect acme/absent --remote --json " + hub_flags("c"));
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_EQ(json::parse(missing.out)["error"]["kind"], "not_found") << missing.out;
  auto offline = cli("plan acme/llama --tp 2 --remote --json " + hub_flags("c2") + " --revision v9");
  EXPECT_NE(offline.exit_code, 0);
  EXPECT_EQ(json::parse(offline.out)["error"]["kind"], "not_found") << offline.out;
}

TEST_F(RemoteCliTest, PlanAndLoadResolveARepoIdThroughTheCacheWithoutTheNetwork) {
  auto full = cli("download acme/llama " + hub_flags("full"));
  ASSERT_EQ(full.exit_code, 0) << full.out;
  hub.stop();  // from here on, the cache alone must answer
  const std::string cache = "--cache-dir " + (tmp / "full").string();
  auto by_id = cli("plan acme/llama --tp 2 --json " + cache);
  ASSERT_EQ(by_id.exit_code, 0) << by_id.out;
  auto by_folder = cli(fmt::format("plan {} --tp 2 --json", snapshot_of(full)));
  ASSERT_EQ(by_folder.exit_code, 0) << by_folder.out;
  EXPECT_EQ(json::parse(by_id.out), json::parse(by_folder.out));
  // A repo id that was never downloaded is an offline miss (exit 10), not a network call.
  auto missing = cli("plan acme/other --tp 2 " + cache);
  EXPECT_EQ(missing.exit_code, 10) << missing.out;
}

}  // namespace
}  // namespace hubload
