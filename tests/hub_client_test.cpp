// The Hub client against the in-process fake Hub (no sockets): file selection,
// revisions, cache layout, redirects, tokens, errors, integrity, offline.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <mutex>

#include <gtest/gtest.h>

#include "hubload/hub.h"
#include "support/error_expect.h"
#include "support/fault_transport.h"
#include "support/hub_expect.h"
#include "support/hub_fake_transport.h"
#include "support/test_support.h"
#include "util/digest.h"

namespace hubload {
namespace {

namespace fs = std::filesystem;
using testing::FakeHubTransport;
using testing::FakeTransportRepo;
using testing::kFakeCdn;
using testing::kFakeHub;
using testing::TempDir;

class HubClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    hub = std::make_shared<FakeHubTransport>();
    model = testing::add_fake_model(*hub, "acme/tiny");
    options.hub.cache_dir = tmp.path() / "cache";
    options.hub.endpoint = kFakeHub;
    options.hub.transport = hub;
    options.hub.transfer.backoff_base = std::chrono::milliseconds(0);
  }
  fs::path repo_dir() const { return tmp.path() / "cache" / "models--acme--tiny"; }
  std::vector<std::string> snapshot_files(const fs::path& snap) const {
    std::vector<std::string> out;
    for (auto& e : fs::recursive_directory_iterator(snap)) {
      if (!e.is_directory()) out.push_back(e.path().lexically_relative(snap).generic_string());
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  TempDir tmp;
  std::shared_ptr<FakeHubTransport> hub;
  testing::FakeTransportModel model;
  DownloadOptions options;
};

TEST_F(HubClientTest, ModelDownloadFetchesConfigIndexAndExactlyTheIndexedShards) {
  std::mutex mu;
  std::map<std::string, FileProgress> last;
  options.hub.on_progress = [&](const FileProgress& p) {
    std::lock_guard lock(mu);
    last[p.path] = p;
  };
  auto result = download_model("acme/tiny", options);
  EXPECT_EQ(last["model-00002-of-00002.safetensors"].bytes_done, 7000u);
  EXPECT_EQ(last["model-00002-of-00002.safetensors"].bytes_total, 7000u);
  EXPECT_EQ(last.size(), 4u);
  ASSERT_TRUE(result) << result.error().to_string();
  EXPECT_EQ(result->snapshot, repo_dir() / "snapshots" / model.main_commit);
  EXPECT_EQ(result->commit, model.main_commit);
  const std::vector<std::string> expected = {"config.json", "model-00001-of-00002.safetensors",
                                             "model-00002-of-00002.safetensors", "model.safetensors.index.json"};
  EXPECT_EQ(result->files, expected);
  EXPECT_EQ(snapshot_files(result->snapshot), expected);
  EXPECT_EQ(hub->count("GET", "consolidated"), 0);
  EXPECT_EQ(hub->count("HEAD", "consolidated"), 0);
  EXPECT_EQ(testing::read_file(result->snapshot / "model-00002-of-00002.safetensors"), std::string(7000, 'y'));
  // refs/main holds the commit, 40 bytes, no newline.
  EXPECT_EQ(testing::read_file(repo_dir() / "refs" / "main"), model.main_commit);
}

TEST_F(HubClientTest, SnapshotEntriesAreRelativeSymlinksToBlobsNamedByEtag) {
  ASSERT_TRUE(download_model("acme/tiny", options));
  const fs::path snap = repo_dir() / "snapshots" / model.main_commit;
  const std::string sha = util_internal::sha256_hex(util_internal::bytes_of(std::string(5000, 'x')));
  EXPECT_EQ(fs::read_symlink(snap / "model-00001-of-00002.safetensors").string(), "../../blobs/" + sha);
  const std::string config = R"({"model_type": "llama", "hidden_size": 8})";
  EXPECT_EQ(fs::read_symlink(snap / "config.json").string(), "../../blobs/" + util_internal::git_blob_sha1_hex(util_internal::bytes_of(config)));
  EXPECT_TRUE(fs::exists(tmp.path() / "cache" / ".locks" / "models--acme--tiny" / (sha + ".lock")));
  for (auto& e : fs::directory_iterator(repo_dir() / "blobs")) {
    EXPECT_EQ(e.path().string().find(".incomplete"), std::string::npos) << e.path();
  }
}

TEST_F(HubClientTest, SubfolderFileLinksOneLevelDeeper) {
  auto path = hub_download("acme/tiny", "sub/notes.txt", options.hub);
  ASSERT_TRUE(path) << path.error().to_string();
  EXPECT_EQ(testing::read_file(*path), "notes\n");
  EXPECT_EQ(fs::read_symlink(*path).string(), "../../../blobs/" + util_internal::git_blob_sha1_hex(util_internal::bytes_of("notes\n")));
}

TEST_F(HubClientTest, SkipWeightsFetchesConfigAndIndexOnly) {
  options.skip_download_weights = true;
  auto result = download_model("acme/tiny", options);
  ASSERT_TRUE(result) << result.error().to_string();
  EXPECT_EQ(result->files, (std::vector<std::string>{"config.json", "model.safetensors.index.json"}));
  EXPECT_EQ(hub->count("GET", kFakeCdn), 0);
}

TEST_F(HubClientTest, ExtrasFlagsAddGenerationConfigAndTokenizer) {
  options.include_generation_config = true;
  options.include_tokenizer = true;
  options.skip_download_weights = true;
  auto result = download_model("acme/tiny", options);
  ASSERT_TRUE(result) << result.error().to_string();
  EXPECT_EQ(result->files, (std::vector<std::string>{"config.json", "generation_config.json",
                                                     "model.safetensors.index.json", "tokenizer.json"}));
}

TEST_F(HubClientTest, AllowAndIgnorePatternsSelectExactly) {
  options.allow_patterns = {"*.json"};
  options.ignore_patterns = {"tokenizer*"};
  auto result = download_model("acme/tiny", options);
  ASSERT_TRUE(result) << result.error().to_string();
  EXPECT_EQ(result->files, (std::vector<std::string>{"config.json", "generation_config.json",
                                                     "model.safetensors.index.json"}));
  options.allow_patterns = {"*"};
  options.ignore_patterns = {};
  result = download_model("acme/tiny", options);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->files.size(), 8u);
  EXPECT_TRUE(fs::exists(result->snapshot / "consolidated.safetensors"));
}

TEST_F(HubClientTest, SafetensorsPreferredOverBinAndBinUsedOnlyWithoutSafetensors) {
  FakeTransportRepo& repo = hub->repo(RepoType::model, "acme/bin");
  const std::string c(40, 'c');
  repo.commits[c] = {{"config.json", {"{}", false}}, {"pytorch_model.bin", {"bin", true}},
                     {"model.safetensors", {"st", true}}, {"consolidated.safetensors", {"zz", true}}};
  repo.refs["main"] = c;
  auto result = download_model("acme/bin", options);
  ASSERT_TRUE(result) << result.error().to_string();
  EXPECT_EQ(result->files, (std::vector<std::string>{"config.json", "model.safetensors"}));
  const std::string c2(40, '2');
  repo.commits[c2] = {{"config.json", {"{}", false}}, {"pytorch_model.bin", {"bin", true}}};
  options.hub.revision = c2;
  result = download_model("acme/bin", options);
  ASSERT_TRUE(result) << result.error().to_string();
  EXPECT_EQ(result->files, (std::vector<std::string>{"config.json", "pytorch_model.bin"}));
}

TEST_F(HubClientTest, RevisionsBranchTagCommitAndPullRequest) {
  options.hub.revision = "v1.0";
  auto tag = download_model("acme/tiny", options);
  ASSERT_TRUE(tag) << tag.error().to_string();
  EXPECT_EQ(tag->commit, model.main_commit);
  EXPECT_EQ(testing::read_file(repo_dir() / "refs" / "v1.0"), model.main_commit);

  options.hub.revision = "refs/pr/1";
  auto pr = download_model("acme/tiny", options);
  ASSERT_TRUE(pr) << pr.error().to_string();
  EXPECT_EQ(pr->commit, model.pr_commit);
  EXPECT_EQ(testing::read_file(repo_dir() / "refs" / "refs" / "pr" / "1"), model.pr_commit);
  EXPECT_EQ(testing::read_file(pr->snapshot / "config.json"), R"({"model_type": "llama", "hidden_size": 16})");
  EXPECT_GE(hub->count("GET", "/revision/refs%2Fpr%2F1"), 1);

  options.hub.revision = model.pr_commit;
  auto commit = download_model("acme/tiny", options);
  ASSERT_TRUE(commit) << commit.error().to_string();
  EXPECT_EQ(commit->snapshot, pr->snapshot);
  EXPECT_FALSE(fs::exists(repo_dir() / "refs" / model.pr_commit));  // no ref for a commit revision
}

TEST_F(HubClientTest, DatasetRepoUsesItsPrefixAndFolder) {
  FakeTransportRepo& repo = hub->repo(RepoType::dataset, "acme/ds");
  const std::string c(40, 'd');
  repo.commits[c] = {{"data/train.csv", {"a,b\n1,2\n", false}}};
  repo.refs["main"] = c;
  options.hub.repo_type = RepoType::dataset;
  options.allow_patterns = {"data/"};
  auto result = download_model("acme/ds", options);
  ASSERT_TRUE(result) << result.error().to_string();
  EXPECT_EQ(result->snapshot, tmp.path() / "cache" / "datasets--acme--ds" / "snapshots" / c);
  EXPECT_EQ(testing::read_file(result->snapshot / "data" / "train.csv"), "a,b\n1,2\n");
  EXPECT_GE(hub->count("GET", "/api/datasets/acme/ds/revision/main"), 1);
  EXPECT_GE(hub->count("HEAD", "/datasets/acme/ds/resolve/"), 1);
}

TEST_F(HubClientTest, RenamedRepoFollowsRelativeRedirectAndCachesUnderRequestedName) {
  hub->rename(RepoType::model, "old/tiny", "acme/tiny");
  options.hub.revision = "main";
  auto path = hub_download("old/tiny", "config.json", options.hub);
  ASSERT_TRUE(path) << path.error().to_string();
  EXPECT_EQ(*path, tmp.path() / "cache" / "models--old--tiny" / "snapshots" / model.main_commit / "config.json");
  EXPECT_EQ(hub->count("HEAD", "/acme/tiny/resolve/main/config.json"), 1);
}

TEST_F(HubClientTest, CdnRedirectNeverReceivesTheToken) {
  options.hub.token = "hf_secret_token_value";
  ASSERT_TRUE(download_model("acme/tiny", options));
  int cdn = 0;
  for (const auto& r : hub->requests()) {
    if (r.url.starts_with(kFakeCdn)) {
      ++cdn;
      EXPECT_FALSE(r.headers.has("authorization")) << r.url;
    } else {
      EXPECT_EQ(r.headers.get("Authorization").value_or(""), "Bearer hf_secret_token_value") << r.url;
    }
    EXPECT_EQ(r.headers.get("accept-encoding").value_or(""), "identity");
  }
  EXPECT_EQ(cdn, 2);
}

TEST_F(HubClientTest, GatedRepoWithAndWithoutToken) {
  hub->repo(RepoType::model, "acme/tiny").gated_token = "hf_good_token";
  EXPECT_TRUE(testing::gated_repo_opens_only_with(options, "acme/tiny", "hf_good_token"));
}

TEST_F(HubClientTest, ErrorKindsFromTheHub) {
  ASSERT_TRUE(testing::hub_answers_not_found(options, "acme/tiny", model.main_commit));
  EXPECT_EQ(testing::read_file(repo_dir() / "refs" / "main"), model.main_commit);
}

TEST_F(HubClientTest, AnswerWithoutRepoCommitIsRejected) {
  hub->omit_repo_commit = true;
  auto result = hub_download("acme/tiny", "config.json", options.hub);
  ASSERT_TRUE(testing::fails_with(result, ErrorKind::invalid_input, "X-Repo-Commit"));
}

TEST_F(HubClientTest, DangerousFileNamesFromTheServerAreRejectedBeforeDisk) {
  for (const std::string bad : {"../evil", "/etc/passwd", "a\\b", "sub/../../x"}) {
    hub->extra_siblings = {bad};
    options.allow_patterns = {"*"};
    auto result = download_model("acme/tiny", options);
    ASSERT_FALSE(result) << bad;
    EXPECT_EQ(result.error().kind(), ErrorKind::invalid_input) << bad;
    EXPECT_FALSE(fs::exists(repo_dir() / "snapshots")) << bad;
  }
}

TEST_F(HubClientTest, CorruptBytesAreAnIntegrityErrorAndNeverPublished) {
  hub->corrupt_paths = {"config.json", "model-00001-of-00002.safetensors"};
  auto small = hub_download("acme/tiny", "config.json", options.hub);
  ASSERT_TRUE(testing::fails_with(small, ErrorKind::integrity));
  auto large = hub_download("acme/tiny", "model-00001-of-00002.safetensors", options.hub);
  ASSERT_TRUE(testing::fails_with(large, ErrorKind::integrity));
  EXPECT_TRUE(fs::is_empty(repo_dir() / "blobs"));
  EXPECT_FALSE(fs::exists(repo_dir() / "snapshots" / model.main_commit / "config.json"));
}

TEST_F(HubClientTest, OfflineAfterDownloadMakesNoRequestAndReturnsTheSamePath) {
  auto online = download_model("acme/tiny", options);
  ASSERT_TRUE(online);
  const int before = static_cast<int>(hub->requests().size());
  options.hub.environment.hf_hub_offline = "1";
  auto offline = download_model("acme/tiny", options);
  ASSERT_TRUE(offline) << offline.error().to_string();
  EXPECT_EQ(offline->snapshot, online->snapshot);
  EXPECT_TRUE(offline->from_cache);
  EXPECT_EQ(static_cast<int>(hub->requests().size()), before);
  auto resolved = resolve_model_path("acme/tiny", options.hub);
  ASSERT_TRUE(resolved);
  EXPECT_EQ(*resolved, online->snapshot);
  EXPECT_EQ(static_cast<int>(hub->requests().size()), before);
}

TEST_F(HubClientTest, OfflineNamesWhatIsMissing) {
  options.skip_download_weights = true;
  ASSERT_TRUE(download_model("acme/tiny", options));
  options.skip_download_weights = false;
  options.hub.local_files_only = true;
  auto result = download_model("acme/tiny", options);
  ASSERT_TRUE(testing::fails_with(result, ErrorKind::offline, "model-00001-of-00002.safetensors"));
  auto other = download_model("acme/other", options);
  ASSERT_TRUE(testing::fails_with(other, ErrorKind::offline, "refs/main"));
  EXPECT_EQ(hub->count("GET", "acme/other"), 0);
}

TEST_F(HubClientTest, NetworkFailureFallsBackToCompleteCachedSnapshotWithFlag) {
  ASSERT_TRUE(download_model("acme/tiny", options));
  auto faulty = std::make_shared<testing::FaultTransport>(hub);
  FaultRule down;  // the Hub answers 503 to everything
  down.status = 503;
  faulty->set_rule(down);
  options.hub.transport = faulty;
  std::vector<std::string> warnings;
  options.hub.on_warning = [&](std::string_view w) { warnings.emplace_back(w); };
  auto result = download_model("acme/tiny", options);
  ASSERT_TRUE(result) << result.error().to_string();
  ASSERT_TRUE(result->network_failure.has_value());
  EXPECT_EQ(result->network_failure->kind(), ErrorKind::network);
  EXPECT_EQ(warnings.size(), 1u);
}

TEST_F(HubClientTest, PythonLayoutWrittenByHandResolvesOffline) {
  const fs::path repo = tmp.path() / "cache" / "models--org--hand";
  const std::string commit = "0123456789abcdef0123456789abcdef01234567";
  const std::string config = R"({"model_type": "gpt2"})";
  const std::string etag = util_internal::git_blob_sha1_hex(util_internal::bytes_of(config));
  testing::write_file(repo / "blobs" / etag, config);
  testing::write_file(repo / "blobs" / std::string(64, 'e'), "weights");
  testing::write_file(repo / "refs" / "main", commit);
  fs::create_directories(repo / "snapshots" / commit);
  fs::create_symlink("../../blobs/" + etag, repo / "snapshots" / commit / "config.json");
  fs::create_symlink("../../blobs/" + std::string(64, 'e'), repo / "snapshots" / commit / "model.safetensors");
  options.hub.local_files_only = true;
  auto result = download_model("org/hand", options);
  ASSERT_TRUE(result) << result.error().to_string();
  EXPECT_EQ(result->snapshot, repo / "snapshots" / commit);
  EXPECT_EQ(result->files, (std::vector<std::string>{"config.json", "model.safetensors"}));
  options.hub.local_files_only = false;
  options.hub.revision = commit;  // a cached commit costs no request at all
  auto file = hub_download("org/hand", "config.json", options.hub);
  ASSERT_TRUE(file);
  auto snapshot = download_model("org/hand", options);
  ASSERT_TRUE(snapshot) << snapshot.error().to_string();
  EXPECT_TRUE(snapshot->from_cache);
  EXPECT_EQ(snapshot->snapshot, repo / "snapshots" / commit);
  EXPECT_EQ(hub->requests().size(), 0u);
}

TEST_F(HubClientTest, MalformedRefIsAClearError) {
  testing::write_file(repo_dir() / "refs" / "main", model.main_commit + "\n");
  options.hub.local_files_only = true;
  auto result = download_model("acme/tiny", options);
  ASSERT_TRUE(testing::fails_with(result, ErrorKind::invalid_input, "malformed ref"));
}

TEST_F(HubClientTest, LocalFolderIsReturnedAsIsAndBadIdsSayBothReadingsFailed) {
  testing::write_file(tmp.path() / "local" / "config.json", "{}");
  auto local = download_model((tmp.path() / "local").string(), options);
  ASSERT_TRUE(local);
  EXPECT_TRUE(local->local_folder);
  EXPECT_EQ(local->snapshot, tmp.path() / "local");
  for (const std::string bad : {"a/b/c", "has space/x", "../up", "org/..", ""}) {
    auto result = download_model(bad, options);
    ASSERT_FALSE(result) << bad;
    EXPECT_EQ(result.error().kind(), ErrorKind::invalid_input) << bad;
    EXPECT_NE(result.error().message().find("neither an existing local folder nor a valid"), std::string::npos);
  }
  EXPECT_EQ(hub->requests().size(), 0u);
}

TEST_F(HubClientTest, UnwritableCacheIsAnIoErrorNamingIt) {
  // A cache "directory" below a regular file cannot be created, even by root.
  testing::write_file(tmp.path() / "plain-file", "x");
  options.hub.cache_dir = tmp.path() / "plain-file" / "cache";
  auto result = download_model("acme/tiny", options);
  ASSERT_TRUE(testing::fails_with(result, ErrorKind::io, (tmp.path() / "plain-file").string()));
}

TEST_F(HubClientTest, FetchRepoInfoAndRangeRead) {
  auto info = fetch_repo_info("acme/tiny", options.hub);
  ASSERT_TRUE(info) << info.error().to_string();
  EXPECT_EQ(info->sha, model.main_commit);
  EXPECT_EQ(info->files.size(), 8u);
  options.hub.token = "hf_token_for_hub_only";
  auto bytes = fetch_file_range("acme/tiny", "model-00001-of-00002.safetensors", ByteRange{10, 19}, options.hub);
  ASSERT_TRUE(bytes) << bytes.error().to_string();
  EXPECT_EQ(*bytes, std::string(10, 'x'));
  auto last = hub->requests().back();
  EXPECT_TRUE(last.url.starts_with(kFakeCdn));
  EXPECT_FALSE(last.headers.has("Authorization"));
}

}  // namespace
}  // namespace hubload
