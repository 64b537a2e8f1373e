// Cache naming, paths, refs, links and environment resolution, byte for byte
// as huggingface_hub writes them (hub-protocol.md §9-§10).
#include <filesystem>

#include <gtest/gtest.h>

#include "hubload/cache.h"
#include "hubload/hub.h"
#include "hubload/hub_environment.h"
#include "support/test_support.h"

namespace hubload {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

TEST(CacheNames, FolderNamesPerRepoType) {
  EXPECT_EQ(repo_folder_name("julien-c/EsperBERTo-small", RepoType::model), "models--julien-c--EsperBERTo-small");
  EXPECT_EQ(repo_folder_name("gpt2", RepoType::model), "models--gpt2");
  EXPECT_EQ(repo_folder_name("glue", RepoType::dataset), "datasets--glue");
  EXPECT_EQ(repo_folder_name("org/name", RepoType::space), "spaces--org--name");
}

TEST(CacheNames, FolderNamesParseBackToTypeAndId) {
  struct Case {
    const char* folder;
    RepoType type;
    const char* id;
  };
  for (const Case& c : {Case{"models--julien-c--EsperBERTo-small", RepoType::model, "julien-c/EsperBERTo-small"},
                        Case{"models--gpt2", RepoType::model, "gpt2"},
                        Case{"datasets--glue", RepoType::dataset, "glue"},
                        Case{"spaces--org--name", RepoType::space, "org/name"},
                        Case{"models--a_b--c.d", RepoType::model, "a_b/c.d"}}) {
    auto parsed = parse_repo_folder_name(c.folder);
    ASSERT_TRUE(parsed) << c.folder << ": " << parsed.error().message();
    EXPECT_EQ(parsed->type, c.type) << c.folder;
    EXPECT_EQ(parsed->repo_id, c.id) << c.folder;
    EXPECT_EQ(repo_folder_name(parsed->repo_id, parsed->type), c.folder);
  }
}

TEST(CacheNames, FolderNamesThatNoRepoIdProducesAreRejected) {
  for (const char* bad : {"", "models", "models--", "model--gpt2", "Models--gpt2", "checkpoints--gpt2",
                          ".locks", "models--org--", "models----name", "models--a--b--c", "models--..",
                          "models--org--na me", "datasets--org/name", "models---x"}) {
    auto parsed = parse_repo_folder_name(bad);
    ASSERT_FALSE(parsed) << bad << " parsed as " << parsed->repo_id;
    EXPECT_EQ(parsed.error().kind(), ErrorKind::invalid_input) << bad;
    EXPECT_NE(parsed.error().message().find(bad), std::string::npos) << parsed.error().message();
  }
}

TEST(CacheNames, RepoIdValidation) {
  EXPECT_TRUE(validate_repo_id("gpt2"));
  EXPECT_TRUE(validate_repo_id("meta-llama/Llama-3.1-8B"));
  EXPECT_TRUE(validate_repo_id("a_b/c.d"));
  for (const char* bad : {"", "a/b/c", "a b/c", "../x", "a/..", "a--b/c", "/abs", "org/", "a/b\\c", "-x/y"}) {
    Status s = validate_repo_id(bad);
    ASSERT_FALSE(s) << bad;
    EXPECT_EQ(s.error().kind(), ErrorKind::invalid_input) << bad;
  }
}

TEST(CacheNames, RepoFilePathValidation) {
  EXPECT_TRUE(validate_repo_file_path("config.json"));
  EXPECT_TRUE(validate_repo_file_path("sub dir/a#b.txt"));
  for (const char* bad : {"", "/etc/passwd", "..", "a/../b", "a\\b", "a//b", "./a", "C:x", "a/"}) {
    EXPECT_FALSE(validate_repo_file_path(bad)) << bad;
  }
}

TEST(CacheNames, CommitHashIsLowercase40Hex) {
  EXPECT_TRUE(is_commit_hash("0123456789abcdef0123456789abcdef01234567"));
  EXPECT_FALSE(is_commit_hash("0123456789ABCDEF0123456789abcdef01234567"));
  EXPECT_FALSE(is_commit_hash("main"));
  EXPECT_FALSE(is_commit_hash(std::string(41, 'a')));
}

TEST(RepoCacheLayout, PathsMatchPython) {
  RepoCache cache("/c", "acme/tiny", RepoType::model);
  EXPECT_EQ(cache.blob_path("abc"), fs::path("/c/models--acme--tiny/blobs/abc"));
  EXPECT_EQ(cache.snapshot_path("c0", "sub/x"), fs::path("/c/models--acme--tiny/snapshots/c0/sub/x"));
  EXPECT_EQ(cache.ref_path("refs/pr/1"), fs::path("/c/models--acme--tiny/refs/refs/pr/1"));
  EXPECT_EQ(cache.no_exist_path("c0", "n.txt"), fs::path("/c/models--acme--tiny/.no_exist/c0/n.txt"));
  EXPECT_EQ(cache.lock_path("abc"), fs::path("/c/.locks/models--acme--tiny/abc.lock"));
}

TEST(RepoCacheLayout, RefsAreFortyBytesNestedAndAbsentForCommits) {
  TempDir tmp;
  RepoCache cache(tmp.path(), "acme/tiny", RepoType::model);
  const std::string commit(40, 'f');
  ASSERT_TRUE(cache.write_ref("main", commit));
  ASSERT_TRUE(cache.write_ref("refs/pr/1", commit));
  ASSERT_TRUE(cache.write_ref(commit, commit));
  EXPECT_EQ(testing::read_file(tmp / "models--acme--tiny/refs/main"), commit);
  EXPECT_EQ(fs::file_size(tmp / "models--acme--tiny/refs/main"), 40u);
  EXPECT_EQ(testing::read_file(tmp / "models--acme--tiny/refs/refs/pr/1"), commit);
  EXPECT_FALSE(fs::exists(tmp / "models--acme--tiny/refs" / commit));
  auto read = cache.read_ref("refs/pr/1");
  ASSERT_TRUE(read);
  EXPECT_EQ(read->value(), commit);
  auto absent = cache.read_ref("dev");
  ASSERT_TRUE(absent);
  EXPECT_FALSE(absent->has_value());
  EXPECT_FALSE(cache.write_ref("../escape", commit));
  // No temp files left next to the refs.
  for (auto& e : fs::recursive_directory_iterator(tmp / "models--acme--tiny/refs")) {
    EXPECT_EQ(e.path().string().find(".tmp"), std::string::npos);
  }
}

TEST(RepoCacheLayout, MalformedRefIsInvalidInputNamingTheFile) {
  TempDir tmp;
  RepoCache cache(tmp.path(), "acme/tiny", RepoType::model);
  testing::write_file(tmp / "models--acme--tiny/refs/main", std::string(40, 'a') + "\n");
  auto read = cache.read_ref("main");
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error().kind(), ErrorKind::invalid_input);
  EXPECT_NE(read.error().message().find("refs/main"), std::string::npos);
}

TEST(RepoCacheLayout, SnapshotLinksAreRelativeAndNoExistMarkersEmpty) {
  TempDir tmp;
  RepoCache cache(tmp.path(), "acme/tiny", RepoType::model);
  ASSERT_TRUE(cache.prepare());
  testing::write_file(cache.blob_path("e1"), "hello");
  ASSERT_TRUE(cache.link_snapshot("c0", "a/b/x.txt", "e1"));
  ASSERT_TRUE(cache.link_snapshot("c0", "top.txt", "e1"));
  EXPECT_EQ(fs::read_symlink(cache.snapshot_path("c0", "a/b/x.txt")).string(), "../../../../blobs/e1");
  EXPECT_EQ(fs::read_symlink(cache.snapshot_path("c0", "top.txt")).string(), "../../blobs/e1");
  EXPECT_EQ(testing::read_file(cache.snapshot_path("c0", "a/b/x.txt")), "hello");
  EXPECT_FALSE(cache.link_snapshot("c0", "../x", "e1"));
  ASSERT_TRUE(cache.mark_missing("c0", "nope/n.txt"));
  EXPECT_TRUE(cache.known_missing("c0", "nope/n.txt"));
  EXPECT_EQ(fs::file_size(cache.no_exist_path("c0", "nope/n.txt")), 0u);
  EXPECT_FALSE(cache.known_missing("c0", "other.txt"));
}

TEST(HubEnvironmentTest, CacheRootPriority) {
  HubEnvironment env;
  env.home = "/home/u";
  EXPECT_EQ(hub_cache_root(env), fs::path("/home/u/.cache/huggingface/hub"));
  env.xdg_cache_home = "/xdg";
  EXPECT_EQ(hub_cache_root(env), fs::path("/xdg/huggingface/hub"));
  env.hf_home = "~/hf";
  EXPECT_EQ(hub_cache_root(env), fs::path("/home/u/hf/hub"));
  env.huggingface_hub_cache = "/legacy";
  EXPECT_EQ(hub_cache_root(env), fs::path("/legacy"));
  env.hf_hub_cache = "/new";
  EXPECT_EQ(hub_cache_root(env), fs::path("/new"));
}

TEST(HubEnvironmentTest, EndpointAndOfflineFlag) {
  HubEnvironment env;
  EXPECT_EQ(hub_endpoint(env), "https://huggingface.co");
  env.hf_endpoint = "http://127.0.0.1:8080//";
  EXPECT_EQ(hub_endpoint(env), "http://127.0.0.1:8080");
  EXPECT_FALSE(hub_offline(env));
  for (const char* yes : {"1", "on", "YES", "True"}) {
    env.hf_hub_offline = yes;
    EXPECT_TRUE(hub_offline(env)) << yes;
  }
  env.hf_hub_offline = "0";
  EXPECT_FALSE(hub_offline(env));
  env.transformers_offline = "1";
  EXPECT_TRUE(hub_offline(env));
}

TEST(HubEnvironmentTest, TimeoutsInSecondsReplaceTheDefaultsAndNonsenseIsIgnored) {
  using std::chrono::milliseconds;
  HubEnvironment env;
  TransferOptions transfer;
  apply_hub_timeouts(env, transfer);
  EXPECT_EQ(transfer.stall_timeout, milliseconds(10'000));
  EXPECT_EQ(transfer.metadata_timeout, milliseconds(10'000));
  env.hf_hub_download_timeout = "2.5";
  env.hf_hub_etag_timeout = "30";
  apply_hub_timeouts(env, transfer);
  EXPECT_EQ(transfer.stall_timeout, milliseconds(2'500));
  EXPECT_EQ(transfer.metadata_timeout, milliseconds(30'000));
  for (const char* bad : {"0", "-1", "ten", "5s", "nan", "1e9", ""}) {
    TransferOptions fresh;
    env.hf_hub_download_timeout = bad;
    env.hf_hub_etag_timeout = bad;
    apply_hub_timeouts(env, fresh);
    EXPECT_EQ(fresh.stall_timeout, milliseconds(10'000)) << bad;
    EXPECT_EQ(fresh.metadata_timeout, milliseconds(10'000)) << bad;
  }
}

TEST(TokenDiscovery, OrderAndCleaning) {
  TempDir tmp;
  HubOptions options;
  options.environment.home = tmp.path().string();
  auto none = discover_token(options);
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());

  testing::write_file(tmp / ".cache/huggingface/token", "  hf_from_default_file\r\n");
  EXPECT_EQ(discover_token(options)->value(), "hf_from_default_file");
  options.environment.hf_home = (tmp / "home").string();
  testing::write_file(tmp / "home/token", "hf_from_hf_home\n");
  EXPECT_EQ(discover_token(options)->value(), "hf_from_hf_home");
  testing::write_file(tmp / "elsewhere", "hf_from_token_path");
  options.environment.hf_token_path = (tmp / "elsewhere").string();
  EXPECT_EQ(discover_token(options)->value(), "hf_from_token_path");
  options.environment.hugging_face_hub_token = "hf_legacy_env";
  EXPECT_EQ(discover_token(options)->value(), "hf_legacy_env");
  options.environment.hf_token = "hf_env";
  EXPECT_EQ(discover_token(options)->value(), "hf_env");
  options.token = "hf_explicit";
  EXPECT_EQ(discover_token(options)->value(), "hf_explicit");
  options.no_token = true;
  EXPECT_FALSE(discover_token(options)->has_value());
}

TEST(TokenDiscovery, EmptyValuesCountAsNoToken) {
  HubOptions options;
  options.environment.home = "/nonexistent-home";
  options.environment.hf_token = " \n";
  options.environment.hugging_face_hub_token = "hf_second";
  EXPECT_EQ(discover_token(options)->value(), "hf_second");
}

TEST(TokenDiscovery, MaskNeverShowsTheToken) {
  const std::string token = "hf_abcdefghijklmnopqrstuvwxyz";
  EXPECT_EQ(mask_token(token).find("abcdefghijklmnop"), std::string::npos);
  EXPECT_EQ(mask_token("short"), "***");
}

TEST(Patterns, FnmatchWhereStarCrossesSlash) {
  EXPECT_TRUE(hub_pattern_match("*.safetensors", "original/consolidated.safetensors"));
  EXPECT_TRUE(hub_pattern_match("data/*.json", "data/a/b.json"));
  EXPECT_TRUE(hub_pattern_match("sub/", "sub/x/y.txt"));
  EXPECT_TRUE(hub_pattern_match("a?c", "a/c"));
  EXPECT_TRUE(hub_pattern_match("[*]x", "*x"));
  EXPECT_FALSE(hub_pattern_match("[*]x", "ax"));
  EXPECT_TRUE(hub_pattern_match("sub\\*.txt", "sub/a.txt"));
  EXPECT_FALSE(hub_pattern_match("*.JSON", "config.json"));  // case-sensitive like 1.x
  EXPECT_TRUE(hub_path_selected("a.json", {"*.json"}, {}));
  EXPECT_FALSE(hub_path_selected("a.json", {"*.json"}, {"a.*"}));
  EXPECT_FALSE(hub_path_selected("a.bin", {"*.json"}, {}));
  EXPECT_TRUE(hub_path_selected("a.bin", {}, {"*.json"}));
}

}  // namespace
}  // namespace hubload
