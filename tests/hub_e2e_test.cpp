// The Hub client over real HTTP (libcurl) against `hubload serve` on
// 127.0.0.1 (tests/support/serve_fixture.h): revisions, repo types, renames,
// the CDN hop, gating, errors, offline reuse, and four processes at once.
#include <filesystem>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "hubload/hub.h"
#include "support/error_expect.h"
#include "support/hub_expect.h"
#include "support/serve_fixture.h"
#include "support/test_support.h"

namespace hubload {
namespace {

namespace fs = std::filesystem;
using testing::FakeHub;

std::string shard(char c, std::size_t n) { return std::string(n, c); }

class HubE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    hub.model("acme/tiny")
        .branch("main", {{"config.json", R"({"hidden_size": 8})"},
                         {"generation_config.json", "{}"},
                         {"model.safetensors.index.json",
                          R"({"weight_map": {"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}})"},
                         {"model-00001-of-00002.safetensors", shard('x', 3000)},
                         {"model-00002-of-00002.safetensors", shard('y', 4000)},
                         {"consolidated.safetensors", shard('z', 5000)},
                         {"sub/notes.txt", "notes\n"}})
        .tag("v1.0", {{"config.json", R"({"v": 1})"}})
        .pr(1, {{"config.json", R"({"pr": 1})"}})
        .renamed_from("old/tiny");
    hub.model("acme/gated").branch("main", {{"config.json", "{}"}}).gated("hf_gate_key");
    hub.dataset("acme/data").branch("main", {{"data/train.csv", "a,b\n1,2\n"}, {"README.md", "# d\n"}});
  }
  void start(bool cdn = false) {
    testing::FakeHubOptions serve_options;
    serve_options.cdn = cdn;
    hub.start(serve_options);
    options.hub.endpoint = hub.url();
    options.hub.cache_dir = tmp.path() / "cache";
    options.hub.transfer.backoff_base = std::chrono::milliseconds(0);
    options.hub.no_token = true;
  }
  void set_fault(const std::string& spec) {
    FaultOptions faults;
    faults.rules.push_back(*parse_fault_rule(spec));
    hub.set_faults(faults);
  }
  fs::path repo_dir(const std::string& folder) const { return tmp.path() / "cache" / folder; }
  // A fault on the second shard that a retry gets past: the download still ends with its exact bytes.
  void expect_download_recovers_the_second_shard() {
    auto result = download_model("acme/tiny", options);
    ASSERT_TRUE(result) << result.error().to_string();
    EXPECT_EQ(testing::read_file(result->snapshot / "model-00002-of-00002.safetensors"), shard('y', 4000));
  }

  testing::TempDir tmp;
  FakeHub hub;
  DownloadOptions options;
};

TEST_F(HubE2eTest, ModelDownloadOverHttpWithCdnNeverLeaksTheToken) {
  hub.model("acme/tiny").gated("hf_model_key");
  start(/*cdn=*/true);
  options.hub.no_token = false;
  options.hub.token = "hf_model_key";
  auto result = download_model("acme/tiny", options);
  ASSERT_TRUE(result) << result.error().to_string();
  EXPECT_EQ(result->snapshot, repo_dir("models--acme--tiny") / "snapshots" / hub.commit("acme/tiny", "main"));
  EXPECT_EQ(result->files, (std::vector<std::string>{"config.json", "model-00001-of-00002.safetensors",
                                                     "model-00002-of-00002.safetensors",
                                                     "model.safetensors.index.json"}));
  EXPECT_EQ(testing::read_file(result->snapshot / "model-00002-of-00002.safetensors"), shard('y', 4000));
  EXPECT_EQ(fs::read_symlink(result->snapshot / "model-00001-of-00002.safetensors").string(),
            "../../blobs/" + hub.etag("model-00001-of-00002.safetensors", shard('x', 3000)));
  const ServeStats stats = hub.stats();
  EXPECT_EQ(stats.cdn_requests, 2u);
  EXPECT_FALSE(hub.cdn_saw_authorization());
  EXPECT_EQ(stats.count_matching("GET", "consolidated"), 0u);
  EXPECT_EQ(stats.count_matching("HEAD", "consolidated"), 0u);
}

// The listing (revision?blobs=true) names every file's size and blob: no HEAD
// per file, and every file through the download's one budget, whose count is
// reported.
TEST_F(HubE2eTest, ListedFilesAreFetchedWithoutAHeadEach) {
  start(/*cdn=*/true);
  options.allow_patterns = {"*"};
  options.hub.transfer.max_connections = 12;
  std::vector<FileProgress> seen;
  options.hub.on_progress = [&](const FileProgress& p) { seen.push_back(p); };
  auto result = download_model("acme/tiny", options);
  ASSERT_TRUE(result) << result.error().to_string();
  EXPECT_EQ(result->files.size(), 7u);
  EXPECT_EQ(testing::read_file(result->snapshot / "consolidated.safetensors"), shard('z', 5000));
  EXPECT_EQ(testing::read_file(result->snapshot / "sub/notes.txt"), "notes\n");
  EXPECT_EQ(fs::read_symlink(result->snapshot / "sub/notes.txt").string(),
            "../../../blobs/" + hub.etag("sub/notes.txt", "notes\n"));
  const ServeStats stats = hub.stats();
  EXPECT_EQ(stats.count_matching("HEAD", "/resolve/"), 0u);
  EXPECT_EQ(stats.count_matching("GET", "/resolve/"), 7u);  // one each: the LFS ones then go to the CDN
  EXPECT_GE(result->connections, 8);
  EXPECT_LE(result->connections, 12);
  ASSERT_FALSE(seen.empty());
  EXPECT_GE(seen.back().connections, 1);
  // Again: everything is linked already, nothing is fetched.
  auto again = download_model("acme/tiny", options);
  ASSERT_TRUE(again) << again.error().to_string();
  EXPECT_EQ(hub.stats().count_matching("GET", "/resolve/"), 7u);
}

TEST_F(HubE2eTest, PatternsSkipWeightsAndSubfolderFile) {
  start();
  options.allow_patterns = {"*"};
  options.ignore_patterns = {"*.safetensors"};
  auto all = download_model("acme/tiny", options);
  ASSERT_TRUE(all) << all.error().to_string();
  EXPECT_EQ(all->files, (std::vector<std::string>{"config.json", "generation_config.json",
                                                  "model.safetensors.index.json", "sub/notes.txt"}));
  EXPECT_EQ(testing::read_file(all->snapshot / "sub/notes.txt"), "notes\n");
  options.allow_patterns = {};
  options.ignore_patterns = {};
  options.skip_download_weights = true;
  auto skip = download_model("acme/tiny", options);
  ASSERT_TRUE(skip);
  EXPECT_EQ(skip->files, (std::vector<std::string>{"config.json", "model.safetensors.index.json"}));
  // The index was fetched; no weight file was.
  EXPECT_EQ(hub.stats().count_matching("GET", "-of-00002.safetensors"), 0u);
  EXPECT_EQ(hub.stats().count_matching("GET", "consolidated"), 0u);
  auto file = hub_download("acme/tiny", "sub/notes.txt", options.hub);
  ASSERT_TRUE(file);
  EXPECT_EQ(fs::read_symlink(*file).string(), "../../../blobs/" + hub.etag("sub/notes.txt", "notes\n"));
}

TEST_F(HubE2eTest, BranchTagCommitAndPullRequestRevisions) {
  start();
  options.skip_download_weights = true;
  for (const std::string rev : {"v1.0", "refs/pr/1"}) {
    options.hub.revision = rev;
    auto result = download_model("acme/tiny", options);
    ASSERT_TRUE(result) << rev << ": " << result.error().to_string();
    EXPECT_EQ(result->commit, hub.commit("acme/tiny", rev));
    EXPECT_EQ(testing::read_file(repo_dir("models--acme--tiny") / "refs" / rev), hub.commit("acme/tiny", rev));
  }
  EXPECT_EQ(testing::read_file(repo_dir("models--acme--tiny") / "snapshots" / hub.commit("acme/tiny", "refs/pr/1") /
                               "config.json"),
            R"({"pr": 1})");
  const std::string commit = hub.commit("acme/tiny", "main");
  options.hub.revision = commit;
  auto by_commit = download_model("acme/tiny", options);
  ASSERT_TRUE(by_commit) << by_commit.error().to_string();
  EXPECT_FALSE(fs::exists(repo_dir("models--acme--tiny") / "refs" / commit));
}

TEST_F(HubE2eTest, DatasetRepoAndRenamedRepo) {
  start(/*cdn=*/true);
  options.hub.repo_type = RepoType::dataset;
  options.allow_patterns = {"data/*"};
  auto data = download_model("acme/data", options);
  ASSERT_TRUE(data) << data.error().to_string();
  EXPECT_EQ(data->files, (std::vector<std::string>{"data/train.csv"}));
  EXPECT_TRUE(data->snapshot.string().find("datasets--acme--data") != std::string::npos);

  options.hub.repo_type = RepoType::model;
  auto renamed = hub_download("old/tiny", "config.json", options.hub);
  ASSERT_TRUE(renamed) << renamed.error().to_string();
  EXPECT_EQ(*renamed, repo_dir("models--old--tiny") / "snapshots" / hub.commit("acme/tiny", "main") / "config.json");
  EXPECT_EQ(testing::read_file(*renamed), R"({"hidden_size": 8})");
}

TEST_F(HubE2eTest, GatedRepoWithAndWithoutToken) {
  start();
  EXPECT_TRUE(testing::gated_repo_opens_only_with(options, "acme/gated", "hf_gate_key"));
}

TEST_F(HubE2eTest, ErrorKinds) {
  start();
  ASSERT_TRUE(testing::hub_answers_not_found(options, "acme/tiny", hub.commit("acme/tiny", "main")));
  options.hub.endpoint = "http://127.0.0.1:1";  // nothing listens on port 1
  auto refused = hub_download("acme/tiny", "generation_config.json", options.hub);
  ASSERT_TRUE(testing::fails_with(refused, ErrorKind::network));
}

TEST_F(HubE2eTest, CorruptBytesFromTheServerAreNeverPublished) {
  start();
  set_fault("corrupt:10,path=*00001*");
  options.hub.transfer.max_attempts = 0;
  auto result = download_model("acme/tiny", options);
  ASSERT_TRUE(testing::fails_with(result, ErrorKind::integrity));
  const std::string etag = hub.etag("model-00001-of-00002.safetensors", shard('x', 3000));
  EXPECT_FALSE(fs::exists(repo_dir("models--acme--tiny") / "blobs" / etag));
}

TEST_F(HubE2eTest, DroppedConnectionIsRetriedToACorrectFile) {
  start();
  set_fault("drop:1000,path=*00002*,first=1");
  expect_download_recovers_the_second_shard();
}

TEST_F(HubE2eTest, StalledTransferTimesOutAndIsRetried) {
  start();
  set_fault("stall:30,after=100,path=*00002*,first=1");
  options.hub.transfer.stall_timeout = std::chrono::milliseconds(1000);
  expect_download_recovers_the_second_shard();
}

TEST_F(HubE2eTest, RateLimitAndServerErrorsAreClear) {
  start();
  set_fault("status:429,retry=7,path=*/revision/*");
  auto limited = download_model("acme/tiny", options);
  ASSERT_TRUE(testing::fails_with(limited, ErrorKind::rate_limited, "7"));
  set_fault("status:503");
  auto down = download_model("acme/tiny", options);
  ASSERT_TRUE(testing::fails_with(down, ErrorKind::network));
  EXPECT_FALSE(fs::exists(repo_dir("models--acme--tiny") / "blobs"));
}

TEST_F(HubE2eTest, OfflineAfterDownloadNeedsNoServer) {
  start();
  auto online = download_model("acme/tiny", options);
  ASSERT_TRUE(online) << online.error().to_string();
  hub.server().reset_stats();
  options.hub.environment.hf_hub_offline = "1";
  auto offline = download_model("acme/tiny", options);
  ASSERT_TRUE(offline) << offline.error().to_string();
  EXPECT_EQ(offline->snapshot, online->snapshot);
  EXPECT_TRUE(hub.stats().requests.empty());
  hub.stop();
  auto again = download_model("acme/tiny", options);
  ASSERT_TRUE(again) << again.error().to_string();
  EXPECT_EQ(again->snapshot, online->snapshot);
  // Online mode with the server gone: the complete cached snapshot, flagged.
  options.hub.environment.hf_hub_offline.reset();
  auto fallback = download_model("acme/tiny", options);
  ASSERT_TRUE(fallback) << fallback.error().to_string();
  EXPECT_TRUE(fallback->network_failure.has_value());
}

TEST_F(HubE2eTest, FourProcessesFetchEveryBlobExactlyOnce) {
  start(/*cdn=*/true);
  const std::string cmd = fmt::format("{} download acme/tiny --endpoint {} --cache-dir {} --no-token --include '*'",
                                      testing::cli_path().string(), hub.url(), (tmp.path() / "cache").string());
  std::string script;
  for (int i = 0; i < 4; ++i) script += fmt::format("({} > {}/out{} 2>&1; echo $? > {}/rc{}) & ", cmd,
                                                    tmp.path().string(), i, tmp.path().string(), i);
  script += "wait";
  testing::run_command(script);
  const fs::path snapshot = repo_dir("models--acme--tiny") / "snapshots" / hub.commit("acme/tiny", "main");
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(testing::read_file(tmp.path() / fmt::format("rc{}", i)), "0\n") << testing::read_file(tmp.path() / fmt::format("out{}", i));
    EXPECT_EQ(testing::read_file(tmp.path() / fmt::format("out{}", i)), snapshot.string() + "\n");
  }
  const ServeStats stats = hub.stats();
  for (const auto& [path, content] : hub.model("acme/tiny").files("main")) {
    const bool lfs = hub.is_lfs(path, content);
    const std::uint64_t gets = lfs ? stats.count_matching("GET", hub.etag(path, content))
                                   : stats.count_matching("GET", "/resolve/" + hub.commit("acme/tiny", "main") + "/" + path);
    EXPECT_EQ(gets, 1u) << path;
    EXPECT_EQ(testing::read_file(snapshot / path), content) << path;
  }
  for (auto& e : fs::directory_iterator(repo_dir("models--acme--tiny") / "blobs")) {
    EXPECT_EQ(e.path().string().find(".incomplete"), std::string::npos);
  }
}

TEST_F(HubE2eTest, FetchRepoInfoAndRangeThroughTheCdn) {
  start(/*cdn=*/true);
  auto info = fetch_repo_info("acme/tiny", options.hub);
  ASSERT_TRUE(info) << info.error().to_string();
  EXPECT_EQ(info->sha, hub.commit("acme/tiny", "main"));
  EXPECT_EQ(info->files.size(), 7u);
  auto bytes = fetch_file_range("acme/tiny", "model-00002-of-00002.safetensors", ByteRange{0, 7}, options.hub);
  ASSERT_TRUE(bytes) << bytes.error().to_string();
  EXPECT_EQ(*bytes, "yyyyyyyy");
}

}  // namespace
}  // namespace hubload
