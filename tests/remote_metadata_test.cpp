// remote_safetensors_metadata over real HTTP against `hubload serve` on
// 127.0.0.1: only header bytes travel, a repeated call is free, the cache stays
// valid for huggingface_hub, and bad servers or files end in clear errors with
// bounded traffic.
#include <filesystem>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "hubload/remote_metadata.h"
#include "support/error_expect.h"
#include "support/remote_models.h"
#include "support/serve_fixture.h"
#include "support/test_support.h"

namespace hubload {
namespace {

namespace fs = std::filesystem;
using testing::f32_safetensors;
using testing::header_prefix_bytes;

constexpr std::uint64_t kMiB = 1024 * 1024;
constexpr const char* kShard1 = "model-00001-of-00002.safetensors";
constexpr const char* kShard2 = "model-00002-of-00002.safetensors";

// Shards of 2 MiB of data each: far more than any header read may touch.
const std::string& shard1() {
  static const std::string s = f32_safetensors({{"embed.weight", {256, 1024}}, {"norm.weight", {1024}}}, 'a');
  return s;
}
const std::string& shard2() {
  static const std::string s = f32_safetensors({{"lm_head.weight", {512, 1024}}}, 'b');
  return s;
}
const std::string kIndex = fmt::format(
    R"({{"metadata": {{"total_size": {}}}, "weight_map": {{"embed.weight": "{}", "norm.weight": "{}", "lm_head.weight": "{}"}}}})",
    256 * 1024 * 4 + 1024 * 4 + 512 * 1024 * 4, kShard1, kShard1, kShard2);

class RemoteMetadataTest : public ::testing::Test {
 protected:
  void SetUp() override {
    hub.model("acme/sharded").branch("main", {{"config.json", R"({"model_type": "llama"})"},
                                              {"model.safetensors.index.json", kIndex},
                                              {kShard1, shard1()},
                                              {kShard2, shard2()}});
    hub.model("acme/single").branch("main", {{"model.safetensors", shard2()}});
    hub.model("acme/pickle").branch("main", {{"config.json", "{}"}, {"pytorch_model.bin", "x"}});
    options.hub.cache_dir = tmp.path() / "cache";
    options.hub.no_token = true;
    options.hub.transfer.backoff_base = std::chrono::milliseconds(0);
  }
  void start(bool cdn, const std::string& fault = {}) {
    testing::FakeHubOptions serve_options;
    serve_options.cdn = cdn;
    if (!fault.empty()) serve_options.faults.rules.push_back(*parse_fault_rule(fault));
    hub.start(serve_options);
    options.hub.endpoint = hub.url();
  }
  std::uint64_t gets(const std::string& repo, const std::string& file) const {
    return hub.stats().count("GET", fmt::format("/{}/resolve/{}/{}", repo, hub.commit(repo), file));
  }

  testing::TempDir tmp;
  testing::FakeHub hub;
  RemoteMetadataOptions options;
};

TEST_F(RemoteMetadataTest, ShardedRepoSendsOnlyHeaderBytes) {
  start(/*cdn=*/true);
  options.first_read_bytes = 8;  // the length prefix alone, then exactly the header: no data byte at all
  auto result = remote_safetensors_metadata("acme/sharded", options);
  ASSERT_TRUE(result) << result.error().to_string();
  EXPECT_EQ(result->commit, hub.commit("acme/sharded"));
  EXPECT_FALSE(result->from_cache);
  const Checkpoint& ckpt = result->checkpoint;
  EXPECT_EQ(ckpt.shard_files, (std::vector<std::string>{kShard1, kShard2}));
  EXPECT_EQ(ckpt.index_file, ckpt.root + "/model.safetensors.index.json");
  EXPECT_EQ(ckpt.root, hub.url() + "/acme/sharded/resolve/" + hub.commit("acme/sharded"));
  ASSERT_EQ(ckpt.tensors.size(), 3u);
  const CheckpointTensor* head = ckpt.find("lm_head.weight");
  ASSERT_NE(head, nullptr);
  EXPECT_EQ(head->file, kShard2);
  EXPECT_EQ(head->info.shape, (std::vector<std::uint64_t>{512, 1024}));
  EXPECT_EQ(head->info.offset, header_prefix_bytes(shard2()));
  EXPECT_EQ(head->info.size, 512u * 1024 * 4);
  EXPECT_EQ(ckpt.shard_headers[0].file_size, shard1().size());

  // Body bytes: the index, then per shard 8 length bytes and the N header bytes.
  const std::uint64_t expected = kIndex.size() + header_prefix_bytes(shard1()) + header_prefix_bytes(shard2());
  EXPECT_EQ(hub.stats().bytes_sent, expected);
  EXPECT_EQ(result->bytes_received, expected);
  EXPECT_EQ(gets("acme/sharded", kShard1), 2u);
  EXPECT_EQ(gets("acme/sharded", kShard2), 2u);
  EXPECT_FALSE(hub.cdn_saw_authorization());
  EXPECT_EQ(testing::scan_cache_problem(tmp.path() / "cache"), "");
}

TEST_F(RemoteMetadataTest, DefaultFirstReadIsOneRequestPerShardOf100001Bytes) {
  start(/*cdn=*/false);
  auto result = remote_safetensors_metadata("acme/sharded", options);
  ASSERT_TRUE(result) << result.error().to_string();
  EXPECT_EQ(gets("acme/sharded", kShard1), 1u);
  EXPECT_EQ(gets("acme/sharded", kShard2), 1u);
  EXPECT_EQ(hub.stats().bytes_sent, kIndex.size() + 2 * 100'001u);
  // The index went into the regular cache, as Python's client puts it there.
  const fs::path snapshot = tmp.path() / "cache/models--acme--sharded/snapshots" / hub.commit("acme/sharded");
  EXPECT_EQ(testing::read_file(snapshot / "model.safetensors.index.json"), kIndex);
  EXPECT_FALSE(fs::exists(snapshot / kShard1));
}

TEST_F(RemoteMetadataTest, SecondCallForTheSameCommitMakesNoRequest) {
  start(/*cdn=*/true);
  auto first = remote_safetensors_metadata("acme/sharded", options);
  ASSERT_TRUE(first) << first.error().to_string();
  hub.server().reset_stats();
  auto second = remote_safetensors_metadata("acme/sharded", options);
  ASSERT_TRUE(second) << second.error().to_string();
  EXPECT_TRUE(second->from_cache);
  EXPECT_EQ(second->requests, 0);
  EXPECT_TRUE(hub.stats().requests.empty());
  EXPECT_EQ(second->commit, first->commit);
  ASSERT_EQ(second->checkpoint.tensors.size(), first->checkpoint.tensors.size());
  for (std::size_t i = 0; i < first->checkpoint.tensors.size(); ++i) {
    EXPECT_EQ(second->checkpoint.tensors[i].info, first->checkpoint.tensors[i].info);
    EXPECT_EQ(second->checkpoint.tensors[i].file, first->checkpoint.tensors[i].file);
  }
  // By commit, and offline, it is answered from the cache too.
  options.hub.revision = first->commit;
  options.hub.local_files_only = true;
  auto by_commit = remote_safetensors_metadata("acme/sharded", options);
  ASSERT_TRUE(by_commit) << by_commit.error().to_string();
  EXPECT_TRUE(by_commit->from_cache);
  EXPECT_TRUE(hub.stats().requests.empty());
  EXPECT_EQ(testing::scan_cache_problem(tmp.path() / "cache"), "");
}

TEST_F(RemoteMetadataTest, RefreshAsksTheHubAgainAndADamagedCacheFileIsRefetched) {
  start(/*cdn=*/false);
  ASSERT_TRUE(remote_safetensors_metadata("acme/single", options));
  const fs::path stored = tmp.path() / "cache/models--acme--single/.hubload/safetensors" /
                          (hub.commit("acme/single") + ".json");
  ASSERT_TRUE(fs::exists(stored));
  testing::write_file(stored, "{not json");
  hub.server().reset_stats();
  auto again = remote_safetensors_metadata("acme/single", options);
  ASSERT_TRUE(again) << again.error().to_string();
  EXPECT_FALSE(again->from_cache);
  EXPECT_EQ(gets("acme/single", "model.safetensors"), 1u);
  hub.server().reset_stats();
  options.refresh = true;
  auto refreshed = remote_safetensors_metadata("acme/single", options);
  ASSERT_TRUE(refreshed) << refreshed.error().to_string();
  EXPECT_EQ(hub.stats().count("HEAD", "/acme/single/resolve/main/model.safetensors"), 1u);
}

TEST_F(RemoteMetadataTest, SingleFileRepo) {
  start(/*cdn=*/true);
  auto result = remote_safetensors_metadata("acme/single", options);
  ASSERT_TRUE(result) << result.error().to_string();
  EXPECT_EQ(result->checkpoint.shard_files, (std::vector<std::string>{"model.safetensors"}));
  EXPECT_FALSE(result->checkpoint.index_file.has_value());
  ASSERT_EQ(result->checkpoint.tensors.size(), 1u);
  EXPECT_EQ(result->checkpoint.tensors[0].info.name, "lm_head.weight");
  EXPECT_EQ(gets("acme/single", "model.safetensors"), 1u);  // the GET names the commit the HEAD on main found
  EXPECT_EQ(hub.stats().count("HEAD", "/acme/single/resolve/main/model.safetensors"), 1u);
  EXPECT_EQ(hub.stats().bytes_sent, 100'001u);
  // No snapshot holds a file yet, so no refs/main may exist (it would name a missing snapshot).
  EXPECT_EQ(testing::scan_cache_problem(tmp.path() / "cache"), "");
}

TEST_F(RemoteMetadataTest, HeaderLongerThanTheFirstReadTakesASecondRangeRequest) {
  // A 300 000-byte header (padding is legal whitespace).
  const std::string big = f32_safetensors({{"w", {4}}}, 'c', 300'000);
  hub.model("acme/bighead").branch("main", {{"model.safetensors", big}});
  start(/*cdn=*/true);
  auto result = remote_safetensors_metadata("acme/bighead", options);
  ASSERT_TRUE(result) << result.error().to_string();
  EXPECT_EQ(result->checkpoint.tensors[0].info.offset, 8u + 300'000u);
  // bytes=0-100000, then bytes=8-300007.
  EXPECT_EQ(hub.stats().bytes_sent, 100'001u + 300'000u);
}

TEST_F(RemoteMetadataTest, ServerIgnoringRangeCostsOnlyTheBytesAskedFor) {
  // 32 MiB of data; the server answers every Range request with 200 and the whole file.
  const std::string huge = f32_safetensors({{"w", {8 * kMiB}}}, 'd');
  hub.model("acme/huge").branch("main", {{"model.safetensors", huge}});
  for (bool cdn : {false, true}) {
    SCOPED_TRACE(cdn ? "through the CDN" : "direct");
    hub.stop();
    start(cdn, "ignore-range");
    options.hub.cache_dir = tmp.path() / (cdn ? "cache-cdn" : "cache-direct");
    std::vector<std::string> warnings;
    options.hub.on_warning = [&](std::string_view w) { warnings.emplace_back(w); };
    auto result = remote_safetensors_metadata("acme/huge", options);
    ASSERT_TRUE(result) << result.error().to_string();
    EXPECT_TRUE(result->server_ignored_range);
    EXPECT_EQ(result->checkpoint.tensors[0].info.size, 32 * kMiB);
    EXPECT_LT(result->bytes_received, 1 * kMiB);
    // The server may have pushed a few MiB into the sockets' buffers before our
    // abort reached it; it must not have sent the file.
    EXPECT_LT(hub.stats().bytes_sent, 16 * kMiB);
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_NE(warnings[0].find("whole file"), std::string::npos) << warnings[0];
  }
}

TEST_F(RemoteMetadataTest, HeaderOverThe25MBCapIsRefusedAfterOneRequest) {
  std::string image = f32_safetensors({{"w", {4}}}, 'e');
  const std::uint64_t n = 25'000'001;
  for (int i = 0; i < 8; ++i) image[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  image.resize(30'000'000, ' ');  // the file is long enough: only the cap rejects it
  hub.model("acme/capped").branch("main", {{"model.safetensors", image}});
  start(/*cdn=*/false);
  auto result = remote_safetensors_metadata("acme/capped", options);
  ASSERT_TRUE(testing::fails_with(result, ErrorKind::invalid_input, "/acme/capped/resolve/"));
  EXPECT_NE(result.error().message().find("25000001"), std::string::npos) << result.error().message();
  EXPECT_EQ(hub.stats().bytes_sent, 100'001u);
}

TEST_F(RemoteMetadataTest, HeaderLongerThanTheFileIsRefusedWithoutASecondRequest) {
  std::string image = f32_safetensors({{"w", {4}}}, 'f');
  const std::uint64_t n = 5000;  // the whole file is far shorter
  for (int i = 0; i < 8; ++i) image[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  hub.model("acme/short").branch("main", {{"model.safetensors", image}});
  start(/*cdn=*/false);
  auto result = remote_safetensors_metadata("acme/short", options);
  ASSERT_TRUE(testing::fails_with(result, ErrorKind::invalid_input, "/acme/short/resolve/"));
  EXPECT_EQ(hub.stats().bytes_sent, image.size());
  EXPECT_EQ(gets("acme/short", "model.safetensors"), 1u);
}

TEST_F(RemoteMetadataTest, ShardNamedByTheIndexButMissingOnTheServer) {
  const std::string index = fmt::format(R"({{"weight_map": {{"embed.weight": "{}", "ghost.weight": "{}"}}}})",
                                        kShard1, "model-00003-of-00003.safetensors");
  hub.model("acme/ghost").branch("main", {{"model.safetensors.index.json", index}, {kShard1, shard1()}});
  start(/*cdn=*/true);
  auto result = remote_safetensors_metadata("acme/ghost", options);
  ASSERT_TRUE(testing::fails_with(result, ErrorKind::not_found));
  const std::string& message = result.error().message();
  EXPECT_NE(message.find("model-00003-of-00003.safetensors"), std::string::npos) << message;
  EXPECT_NE(message.find(hub.url() + "/acme/ghost/resolve/"), std::string::npos) << message;
}

TEST_F(RemoteMetadataTest, MalformedHeaderIsAnInvalidInputNamingTheUrl) {
  // The offsets leave a hole: data_offsets [4, 8) for the only tensor.
  std::string header = R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})";
  std::string image(8, '\0');
  image[0] = static_cast<char>(header.size());
  image += header + std::string(8, 'g');
  hub.model("acme/holey").branch("main", {{"model.safetensors", image}});
  start(/*cdn=*/false);
  auto result = remote_safetensors_metadata("acme/holey", options);
  ASSERT_TRUE(testing::fails_with(result, ErrorKind::invalid_input, "/acme/holey/resolve/"));
}

TEST_F(RemoteMetadataTest, NotASafetensorsRepoAndUnknownRepo) {
  start(/*cdn=*/false);
  auto pickle = remote_safetensors_metadata("acme/pickle", options);
  ASSERT_TRUE(testing::fails_with(pickle, ErrorKind::not_found, "not a safetensors repo"));
  auto missing = remote_safetensors_metadata("acme/nothing-here", options);
  ASSERT_TRUE(testing::fails_with(missing, ErrorKind::not_found, "acme/nothing-here"));
}

TEST_F(RemoteMetadataTest, OfflineWithNothingCachedIsAnOfflineError) {
  start(/*cdn=*/false);
  options.hub.local_files_only = true;
  auto result = remote_safetensors_metadata("acme/sharded", options);
  ASSERT_TRUE(testing::fails_with(result, ErrorKind::offline));
  EXPECT_TRUE(hub.stats().requests.empty());
}

}  // namespace
}  // namespace hubload
