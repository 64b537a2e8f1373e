// scan_cache, verify_cache, delete_revisions and prune_cache against two caches
// of the same repos: one written by hand in Python's layout (FakeHub's own
// writer) and one written by hubload downloading from a local serve.
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "hubload/cache_manage.h"
#include "support/serve_fixture.h"
#include "support/test_support.h"
#include "transfer/journal.h"
#include "transfer/partial_file.h"
#include "util/digest.h"

namespace hubload {
namespace {

namespace fs = std::filesystem;
using testing::FakeHub;
using testing::RepoFiles;

const std::string kWeights(3000, 'w');  // LFS (by name), shared by both revisions

RepoFiles main_files() { return {{"config.json", "{\"v\":2}"}, {"model.safetensors", kWeights}, {"sub/notes.txt", "n2"}}; }
RepoFiles old_files() { return {{"config.json", "{\"v\":1}"}, {"model.safetensors", kWeights}, {"extra.bin", "xx"}}; }

// The byte at `offset` of `path`, xor 1.
void flip_byte(const fs::path& path, std::size_t offset) {
  std::string bytes = testing::read_file(path);
  bytes[offset] = static_cast<char>(bytes[offset] ^ 1);
  fs::remove(path);  // a hubload blob may be read-only; replace it instead of writing into it
  testing::write_file(path, bytes);
}

std::int64_t dead_pid() {
  pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ::waitpid(child, nullptr, 0);
  return child;
}

void write_partial(const fs::path& blobs, const std::string& writer, long pid) {
  testing::write_file(blobs / (writer + ".incomplete"), "partial");
  transfer_internal::Journal j;
  j.size = 100;
  j.hash = writer.substr(0, writer.find('.'));
  j.host = transfer_internal::local_host_name();
  j.pid = pid;
  j.boot_id = transfer_internal::current_boot_id();
  ASSERT_TRUE(transfer_internal::save_journal((blobs / (writer + ".journal.incomplete")).string(), j));
}

// Every file of a repo from `hub` into the cache at `root`, without a token.
DownloadOptions download_options(const FakeHub& hub, const fs::path& root) {
  DownloadOptions options;
  options.hub.endpoint = hub.url();
  options.hub.cache_dir = root;
  options.hub.no_token = true;
  options.hub.transfer.backoff_base = std::chrono::milliseconds(0);
  options.allow_patterns = {"*"};
  return options;
}

class CacheManageTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    hub.model("acme/tiny").branch("main", main_files()).branch("old", old_files());
    hub.dataset("acme/ds").branch("main", {{"data.csv", "a,b\n1,2\n"}});
    hub.start();
    if (GetParam() == "hand") {
      root = hub.dir() / "hub";
    } else {
      root = tmp.path() / "cache";
      ASSERT_TRUE(download("acme/tiny", "main"));
      ASSERT_TRUE(download("acme/tiny", "old"));
      options.hub.repo_type = RepoType::dataset;
      ASSERT_TRUE(download("acme/ds", "main"));
      options.hub.repo_type = RepoType::model;
    }
    repo_dir = root / "models--acme--tiny";
    fs::remove(repo_dir / "refs" / "old");  // "old" becomes a detached revision
  }

  Result<DownloadResult> download(const std::string& id, const std::string& revision) {
    const RepoType type = options.hub.repo_type;
    options = download_options(hub, root);
    options.hub.repo_type = type;
    options.hub.revision = revision;
    auto r = download_model(id, options);
    if (!r) ADD_FAILURE() << r.error().to_string();
    return r;
  }
  CacheScan scan() {
    auto s = scan_cache(root);
    EXPECT_TRUE(s) << s.error().to_string();
    return s ? std::move(*s) : CacheScan{};
  }
  const CachedRepo& tiny(const CacheScan& s) {
    for (const auto& r : s.repos) {
      if (r.id == "acme/tiny") return r;
    }
    throw std::runtime_error("acme/tiny not scanned");
  }
  fs::path blob(const std::string& path, const std::string& content) const {
    return repo_dir / "blobs" / hub.etag(path, content);
  }
  // Blob names -> sizes of the given revisions' files, each blob once.
  std::map<std::string, std::uint64_t> blobs_of(const std::vector<RepoFiles>& revisions) const {
    std::map<std::string, std::uint64_t> out;
    for (const auto& files : revisions) {
      for (const auto& [path, content] : files) out[hub.etag(path, content)] = content.size();
    }
    return out;
  }
  static std::uint64_t total(const std::map<std::string, std::uint64_t>& blobs) {
    std::uint64_t n = 0;
    for (const auto& [name, size] : blobs) n += size;
    return n;
  }

  testing::TempDir tmp;
  FakeHub hub;
  DownloadOptions options;
  fs::path root, repo_dir;
};

INSTANTIATE_TEST_SUITE_P(Caches, CacheManageTest, ::testing::Values("hand", "hubload"));

TEST_P(CacheManageTest, ScanCountsSharedBlobsOnceAndFindsRefsAndDetachedRevisions) {
  const CacheScan s = scan();
  ASSERT_EQ(s.repos.size(), 2u);
  EXPECT_TRUE(s.warnings.empty()) << s.warnings.front();
  EXPECT_EQ(s.repos[0].display_id(), "model/acme/tiny");
  EXPECT_EQ(s.repos[1].display_id(), "dataset/acme/ds");
  const CachedRepo& r = tiny(s);
  const auto all = blobs_of({main_files(), old_files()});
  EXPECT_EQ(r.size, total(all));
  EXPECT_EQ(r.files, all.size());
  EXPECT_EQ(r.refs, (std::map<std::string, std::string>{{"main", hub.commit("acme/tiny", "main")}}));
  ASSERT_EQ(r.revisions.size(), 2u);
  for (const CachedRevision& rev : r.revisions) {
    const bool is_main = rev.commit == hub.commit("acme/tiny", "main");
    EXPECT_EQ(rev.commit, hub.commit("acme/tiny", is_main ? "main" : "old"));
    EXPECT_EQ(rev.size, total(blobs_of({is_main ? main_files() : old_files()})));
    std::set<std::string> paths, expected;
    for (const CachedFile& f : rev.files) paths.insert(f.path);
    for (const auto& [path, content] : is_main ? main_files() : old_files()) expected.insert(path);
    EXPECT_EQ(paths, expected);
    EXPECT_EQ(rev.detached(), !is_main);
  }
  // Reclaimable: what only the detached revision links to.
  const auto kept = blobs_of({main_files()});
  std::uint64_t only_old = 0;
  for (const auto& [name, size] : blobs_of({old_files()})) only_old += kept.count(name) ? 0 : size;
  EXPECT_EQ(r.reclaimable, only_old);
  EXPECT_EQ(s.size, total(all) + std::string("a,b\n1,2\n").size());
  EXPECT_GT(r.last_modified, 0);
}

TEST_P(CacheManageTest, FlippedByteIsFoundOfflineWithBothHashesAndNothingElse) {
  flip_byte(blob("model.safetensors", kWeights), 100);
  std::string flipped = kWeights;
  flipped[100] ^= 1;
  flip_byte(blob("config.json", "{\"v\":2}"), 2);
  const CacheScan s = scan();
  auto report = verify_cache(s, VerifyOptions{});
  ASSERT_TRUE(report) << report.error().to_string();
  EXPECT_EQ(report->blobs, blobs_of({main_files(), old_files()}).size() + 1);  // each shared blob hashed once
  EXPECT_EQ(report->files, 7u);
  ASSERT_EQ(report->mismatches.size(), 2u);
  EXPECT_TRUE(report->unreadable.empty());
  for (const BlobProblem& p : report->mismatches) {
    if (p.algorithm == "sha256") {
      EXPECT_EQ(p.expected, util_internal::sha256_hex(util_internal::bytes_of(kWeights)));
      EXPECT_EQ(p.actual, util_internal::sha256_hex(util_internal::bytes_of(flipped)));
      EXPECT_EQ(p.files.size(), 2u);  // linked from both revisions
    } else {
      EXPECT_EQ(p.algorithm, "git-sha1");
      EXPECT_EQ(p.expected, util_internal::git_blob_sha1_hex(util_internal::bytes_of("{\"v\":2}")));
      EXPECT_EQ(p.actual, util_internal::git_blob_sha1_hex(util_internal::bytes_of("{\"w\":2}")));
    }
  }
  EXPECT_FALSE(report->ok());
  // Nothing changed without fix.
  EXPECT_TRUE(fs::exists(blob("model.safetensors", kWeights)));
}

TEST_P(CacheManageTest, VerifySelectsOneRepoAndRevisionAndRefusesUnknownOnes) {
  flip_byte(blob("extra.bin", "xx"), 0);  // only in "old"
  const CacheScan s = scan();
  VerifyOptions main_only;
  main_only.repo = "acme/tiny";
  main_only.revision = "main";
  auto report = verify_cache(s, main_only);
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->ok());
  EXPECT_EQ(report->files, 3u);
  VerifyOptions old;
  old.repo = "model/acme/tiny";
  old.revision = hub.commit("acme/tiny", "old");
  EXPECT_EQ(verify_cache(s, old)->mismatches.size(), 1u);
  VerifyOptions ds;
  ds.repo = "dataset/acme/ds";
  EXPECT_TRUE(verify_cache(s, ds)->ok());
  VerifyOptions unknown;
  unknown.repo = "acme/none";
  EXPECT_EQ(verify_cache(s, unknown).error().kind(), ErrorKind::not_found);
  unknown.repo = "acme/tiny";
  unknown.revision = "v9";
  EXPECT_EQ(verify_cache(s, unknown).error().kind(), ErrorKind::not_found);
}

TEST_P(CacheManageTest, FixQuarantinesTheCorruptBlobAndTheNextDownloadFetchesItAgain) {
  const fs::path weights = blob("model.safetensors", kWeights);
  flip_byte(weights, 7);
  VerifyOptions fix;
  fix.fix = true;
  auto report = verify_cache(scan(), fix);
  ASSERT_TRUE(report);
  ASSERT_EQ(report->mismatches.size(), 1u);
  ASSERT_TRUE(report->mismatches[0].quarantined_to);
  EXPECT_EQ(report->mismatches[0].quarantined_to->parent_path(), repo_dir / ".quarantine");
  EXPECT_FALSE(fs::exists(weights));
  EXPECT_EQ(testing::read_file(*report->mismatches[0].quarantined_to).size(), kWeights.size());
  // Now the links dangle: a warning for the scan, "missing" for verify.
  const CacheScan after = scan();
  EXPECT_EQ(after.warnings.size(), 2u);
  auto again = verify_cache(after, VerifyOptions{});
  EXPECT_EQ(again->missing.size(), 2u);
  EXPECT_FALSE(again->ok());
  if (GetParam() == "hubload") {  // the hand cache is the server's own source
    ASSERT_TRUE(download("acme/tiny", "main"));
    EXPECT_EQ(testing::read_file(weights), kWeights);
  }
}

TEST_P(CacheManageTest, UnreadableBlobIsReportedAndTheRestIsStillVerified) {
  // Tests run as root, so permissions do not stop reads: a folder in place of the blob does.
  const fs::path config = blob("config.json", "{\"v\":2}");
  fs::remove(config);
  fs::create_directory(config);
  auto report = verify_cache(scan(), VerifyOptions{});
  ASSERT_TRUE(report);
  ASSERT_EQ(report->unreadable.size(), 1u);
  EXPECT_EQ(report->unreadable[0].blob, config);
  ASSERT_TRUE(report->unreadable[0].error);
  EXPECT_NE(report->unreadable[0].error->message().find(config.string()), std::string::npos);
  EXPECT_TRUE(report->mismatches.empty());
  EXPECT_EQ(report->blobs, blobs_of({main_files(), old_files()}).size() + 1);
}

TEST_P(CacheManageTest, RmOfOneRevisionRemovesOnlyTheBlobsUniqueToIt) {
  const std::string main_commit = hub.commit("acme/tiny", "main");
  const std::string old_commit = hub.commit("acme/tiny", "old");
  for (const std::string& c : {main_commit, old_commit}) {
    testing::write_file(repo_dir / ".no_exist" / c / "missing.txt", "");
    testing::write_file(repo_dir / "trees" / (c + ".json"), "{\"format_version\": 1, \"files\": {}}");
  }
  auto plan = delete_revisions(scan(), {main_commit.substr(0, 10)});
  ASSERT_TRUE(plan) << plan.error().to_string();
  ASSERT_EQ(plan->repos.size(), 1u);
  const auto& part = plan->repos[0];
  EXPECT_FALSE(part.whole_repo);
  EXPECT_EQ(part.commits, std::vector<std::string>{main_commit});
  EXPECT_EQ(part.refs, std::vector<fs::path>{repo_dir / "refs" / "main"});
  const std::set<std::string> unique = {hub.etag("config.json", "{\"v\":2}"), hub.etag("sub/notes.txt", "n2")};
  EXPECT_EQ(std::set<std::string>(part.blobs.begin(), part.blobs.end()), unique);
  EXPECT_EQ(plan->freed, std::string("{\"v\":2}").size() + 2);

  const DeleteOutcome out = execute_delete(*plan);
  EXPECT_TRUE(out.errors.empty());
  EXPECT_TRUE(out.skipped.empty());
  EXPECT_EQ(out.revisions, 1u);
  EXPECT_EQ(out.blobs, 2u);
  EXPECT_EQ(out.freed, plan->freed);
  for (const auto& name : unique) EXPECT_FALSE(fs::exists(repo_dir / "blobs" / name));
  EXPECT_TRUE(fs::exists(blob("model.safetensors", kWeights)));
  EXPECT_FALSE(fs::exists(repo_dir / "refs" / "main"));
  EXPECT_FALSE(fs::exists(repo_dir / "snapshots" / main_commit));
  EXPECT_FALSE(fs::exists(repo_dir / ".no_exist" / main_commit));
  EXPECT_FALSE(fs::exists(repo_dir / "trees" / (main_commit + ".json")));
  EXPECT_TRUE(fs::exists(repo_dir / ".no_exist" / old_commit / "missing.txt"));
  EXPECT_TRUE(fs::exists(repo_dir / "trees" / (old_commit + ".json")));
  const CacheScan after = scan();
  EXPECT_TRUE(after.warnings.empty());
  EXPECT_EQ(tiny(after).revisions.size(), 1u);
  EXPECT_TRUE(verify_cache(after, VerifyOptions{})->ok());
}

TEST_P(CacheManageTest, RmOfARepoRemovesItsFolderAndUnknownTargetsAreNotFound) {
  auto unknown = delete_revisions(scan(), {"acme/none"});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().kind(), ErrorKind::not_found);
  EXPECT_NE(unknown.error().message().find("acme/none"), std::string::npos);
  auto plan = delete_revisions(scan(), {"dataset/acme/ds"});
  ASSERT_TRUE(plan);
  ASSERT_EQ(plan->repos.size(), 1u);
  EXPECT_TRUE(plan->repos[0].whole_repo);
  execute_delete(*plan);
  EXPECT_FALSE(fs::exists(root / "datasets--acme--ds"));
  EXPECT_EQ(scan().repos.size(), 1u);
}

TEST_P(CacheManageTest, PruneRemovesTheDetachedRevisionAndADeadPartialButNotALiveOne) {
  const fs::path blobs = repo_dir / "blobs";
  const std::string a(64, 'a'), b(64, 'b'), c(64, 'c'), d(64, 'd');
  write_partial(blobs, a + ".0000dead", static_cast<long>(dead_pid()));
  write_partial(blobs, b + ".00001111", static_cast<long>(::getpid()));
  testing::write_file(blobs / (c + ".incomplete"), "0.3x partial, untouched for an hour");
  fs::last_write_time(blobs / (c + ".incomplete"), fs::file_time_type::clock::now() - std::chrono::hours(1));
  testing::write_file(blobs / (d + ".12345678.incomplete"), "fresh, no journal yet");
  // Owners on another host cannot be asked: their journal's age decides.
  const std::string e(64, 'e'), f(40, 'f');
  for (const std::string& writer : {e + ".0000000e", f + ".0000000f"}) {
    write_partial(blobs, writer, 1);
    const fs::path journal = blobs / (writer + ".journal.incomplete");
    auto j = transfer_internal::load_journal(journal.string());
    ASSERT_TRUE(j);
    j->host = "another-host";
    ASSERT_TRUE(transfer_internal::save_journal(journal.string(), *j));
  }
  fs::last_write_time(blobs / (e + ".0000000e.journal.incomplete"),
                      fs::file_time_type::clock::now() - std::chrono::hours(1));

  const CacheScan s = scan();
  EXPECT_EQ(tiny(s).partials.size(), 6u);
  const DeletePlan plan = prune_cache(s);
  ASSERT_EQ(plan.repos.size(), 1u);
  const auto& part = plan.repos[0];
  EXPECT_EQ(part.commits, std::vector<std::string>{hub.commit("acme/tiny", "old")});
  std::set<std::string> stale;
  for (const auto& p : part.partials) stale.insert(p.etag);
  EXPECT_EQ(stale, (std::set<std::string>{a, c, e}));

  const DeleteOutcome out = execute_delete(plan);
  EXPECT_TRUE(out.errors.empty());
  EXPECT_EQ(out.partials, 3u);
  EXPECT_FALSE(fs::exists(blobs / (e + ".0000000e.journal.incomplete")));
  EXPECT_TRUE(fs::exists(blobs / (f + ".0000000f.journal.incomplete")));
  EXPECT_FALSE(fs::exists(blobs / (a + ".0000dead.incomplete")));
  EXPECT_FALSE(fs::exists(blobs / (a + ".0000dead.journal.incomplete")));
  EXPECT_FALSE(fs::exists(blobs / (c + ".incomplete")));
  EXPECT_TRUE(fs::exists(blobs / (b + ".00001111.incomplete")));
  EXPECT_TRUE(fs::exists(blobs / (b + ".00001111.journal.incomplete")));
  EXPECT_TRUE(fs::exists(blobs / (d + ".12345678.incomplete")));
  EXPECT_FALSE(fs::exists(repo_dir / "snapshots" / hub.commit("acme/tiny", "old")));
  EXPECT_FALSE(fs::exists(blob("extra.bin", "xx")));
  EXPECT_TRUE(fs::exists(blob("model.safetensors", kWeights)));
  EXPECT_TRUE(verify_cache(scan(), VerifyOptions{})->ok());
}

TEST_P(CacheManageTest, ABlobWhoseLockIsHeldIsSkippedAndSaidSo) {
  const std::string extra = hub.etag("extra.bin", "xx");
  auto lock = BlobLock::acquire(root / ".locks" / "models--acme--tiny" / (extra + ".lock"));
  ASSERT_TRUE(lock);
  const DeleteOutcome out = execute_delete(prune_cache(scan()));
  ASSERT_EQ(out.skipped.size(), 1u);
  EXPECT_NE(out.skipped[0].find(extra), std::string::npos);
  EXPECT_TRUE(fs::exists(blob("extra.bin", "xx")));
  EXPECT_FALSE(fs::exists(blob("config.json", "{\"v\":1}")));
}

TEST_P(CacheManageTest, InconsistenciesAreWarningsNotFailures) {
  testing::write_file(root / "stray.txt", "x");
  testing::write_file(repo_dir / "refs" / "gone", std::string(40, 'e'));
  testing::write_file(repo_dir / "refs" / "newline", hub.commit("acme/tiny", "main") + "\n");
  const fs::path link = repo_dir / "snapshots" / hub.commit("acme/tiny", "main") / "dangling.txt";
  fs::create_symlink("../../blobs/" + std::string(40, '0'), link);
  const CacheScan s = scan();
  ASSERT_EQ(s.warnings.size(), 4u);
  auto has = [&](const std::string& what) {
    for (const auto& w : s.warnings) {
      if (w.find(what) != std::string::npos) return true;
    }
    return false;
  };
  EXPECT_TRUE(has("stray.txt: stray entry"));
  EXPECT_TRUE(has("ref 'gone' points to missing snapshot"));
  EXPECT_TRUE(has("newline"));
  EXPECT_TRUE(has("dangling.txt: dangling link"));
  EXPECT_EQ(tiny(s).revisions.size(), 2u);
}

TEST(CacheManageInputTest, MissingCacheIsNotFoundAndAFileIsInvalid) {
  testing::TempDir tmp;
  EXPECT_EQ(scan_cache(tmp / "none").error().kind(), ErrorKind::not_found);
  testing::write_file(tmp / "file", "x");
  EXPECT_EQ(scan_cache(tmp / "file").error().kind(), ErrorKind::invalid_input);
  EXPECT_FALSE(parse_repo_folder_name("models--"));
  EXPECT_FALSE(parse_repo_folder_name("kernels--a--b"));
  EXPECT_EQ(parse_repo_folder_name("datasets--glue")->repo_id, "glue");
  EXPECT_EQ(parse_repo_folder_name("models--org--name")->repo_id, "org/name");
}

TEST(CacheManageFilterTest, FiltersSelectAndSortOrdersAsDocumented) {
  const std::int64_t now = 1'000'000'000;
  auto repo = [&](std::string id, RepoType type, std::uint64_t size, std::int64_t accessed_days_ago, bool main) {
    CachedRepo r;
    r.id = std::move(id);
    r.type = type;
    r.size = size;
    r.last_accessed = now - accessed_days_ago * 86400;
    r.last_modified = now - 2 * accessed_days_ago * 86400;
    if (main) r.refs["main"] = std::string(40, 'a');
    return r;
  };
  const std::vector<CachedRepo> repos = {repo("a/big", RepoType::model, 3'000'000'000, 10, true),
                                         repo("b/small", RepoType::model, 5'000, 1, false),
                                         repo("c/data", RepoType::dataset, 2'000'000'000, 40, true)};
  auto select = [&](std::vector<std::string> exprs) {
    std::vector<std::string> ids;
    for (const auto& r : repos) {
      bool keep = true;
      for (const auto& e : exprs) {
        auto f = parse_repo_filter(e);
        EXPECT_TRUE(f) << e;
        keep = keep && f && repo_matches(r, *f, now);
      }
      if (keep) ids.push_back(r.id);
    }
    return ids;
  };
  EXPECT_EQ(select({"size>1GB"}), (std::vector<std::string>{"a/big", "c/data"}));
  EXPECT_EQ(select({"size>2GB"}), (std::vector<std::string>{"a/big"}));
  EXPECT_EQ(select({"size<=5KB"}), (std::vector<std::string>{"b/small"}));
  EXPECT_EQ(select({"type=model"}), (std::vector<std::string>{"a/big", "b/small"}));
  EXPECT_EQ(select({"accessed>7d"}), (std::vector<std::string>{"a/big", "c/data"}));
  EXPECT_EQ(select({"modified<30d"}), (std::vector<std::string>{"a/big", "b/small"}));
  EXPECT_EQ(select({"refs=main", "type!=dataset"}), (std::vector<std::string>{"a/big"}));
  EXPECT_EQ(parse_repo_filter("size>1GiB")->number, 1073741824);
  for (const char* bad : {"size>huge", "colour=red", "size", "type>model", "type=kernel", "accessed>7y"}) {
    EXPECT_EQ(parse_repo_filter(bad).error().kind(), ErrorKind::invalid_input) << bad;
  }

  auto order = [&](const std::string& expr) {
    std::vector<const CachedRepo*> list;
    for (const auto& r : repos) list.push_back(&r);
    sort_repos(list, *parse_repo_sort(expr));
    std::vector<std::string> ids;
    for (const auto* r : list) ids.push_back(r->id);
    return ids;
  };
  EXPECT_EQ(order("size"), (std::vector<std::string>{"a/big", "c/data", "b/small"}));
  EXPECT_EQ(order("size:asc"), (std::vector<std::string>{"b/small", "c/data", "a/big"}));
  EXPECT_EQ(order("accessed"), (std::vector<std::string>{"b/small", "a/big", "c/data"}));
  EXPECT_EQ(order("modified:asc"), (std::vector<std::string>{"c/data", "a/big", "b/small"}));
  EXPECT_EQ(order("name"), (std::vector<std::string>{"c/data", "a/big", "b/small"}));  // "dataset/..." < "model/..."
  EXPECT_FALSE(parse_repo_sort("colour"));
  EXPECT_FALSE(parse_repo_sort("size:up"));
}

// A download of one revision while another revision of the same repo is
// removed and the cache pruned: the download holds its blob's lock and a live
// partial, both are left alone, and the download completes and verifies.
TEST(CacheManageConcurrencyTest, DownloadCompletesWhileAnotherRevisionIsRemoved) {
  testing::TempDir tmp;
  FakeHub hub;
  const std::string shared(2 << 20, 's'), fresh(4 << 20, 'f');
  hub.model("acme/big")
      .branch("main", {{"config.json", "{}"}, {"model.safetensors", shared}})
      .branch("v2", {{"config.json", "{\"v\":2}"}, {"model.safetensors", shared}, {"z.safetensors", fresh}});
  hub.start();
  DownloadOptions options = download_options(hub, tmp.path() / "cache");
  ASSERT_TRUE(download_model("acme/big", options));

  // The download pauses as z.safetensors starts (lock held, partial and journal on
  // disk) until the rm and the prune are done.
  std::mutex mu;
  std::condition_variable cv;
  bool inside = false, removed = false;
  options.hub.revision = "v2";
  options.max_workers = 1;
  options.hub.on_progress = [&](const FileProgress& p) {
    if (p.path != "z.safetensors" || p.bytes_done == p.bytes_total) return;
    std::unique_lock lock(mu);
    if (removed) return;
    inside = true;
    cv.notify_all();
    cv.wait(lock, [&] { return removed; });
  };
  Result<DownloadResult> result = internal_error("not run");
  std::thread downloader([&] { result = download_model("acme/big", options); });
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(60), [&] { return inside; }));
  }
  auto s = scan_cache(tmp.path() / "cache");
  ASSERT_TRUE(s);
  const auto& repo = s->repos.at(0);
  ASSERT_EQ(repo.partials.size(), 1u);
  EXPECT_FALSE(repo.partials[0].stale) << repo.partials[0].reason;
  auto plan = delete_revisions(*s, {hub.commit("acme/big", "main")});
  ASSERT_TRUE(plan);
  const DeleteOutcome rm = execute_delete(*plan);
  const DeleteOutcome prune = execute_delete(prune_cache(*scan_cache(tmp.path() / "cache")));
  {
    std::lock_guard lock(mu);
    removed = true;
  }
  cv.notify_all();
  downloader.join();
  EXPECT_TRUE(rm.errors.empty());
  EXPECT_EQ(rm.revisions, 1u);
  EXPECT_EQ(prune.partials, 0u);
  ASSERT_TRUE(result) << result.error().to_string();
  auto after = scan_cache(tmp.path() / "cache");
  ASSERT_TRUE(after);
  ASSERT_EQ(after->repos.at(0).revisions.size(), 1u);
  EXPECT_EQ(after->repos[0].revisions[0].files.size(), 3u);
  auto verified = verify_cache(*after, VerifyOptions{});
  ASSERT_TRUE(verified);
  EXPECT_TRUE(verified->ok());
  EXPECT_EQ(verified->files, 3u);
  EXPECT_TRUE(after->warnings.empty());
}

// `rm` removes a blob only while holding its lock, and a download links its
// snapshot under the same lock. Here the test plays `rm`: it holds the lock of a
// blob that revision main has while a download of revision v2, which shares it,
// starts; it removes the blob and main's link and lets go. The download must wait,
// fetch the blob again and link it, never leave v2's new link dangling (which it
// did when it linked after an unlocked existence check).
TEST(CacheManageConcurrencyTest, DownloadLinksUnderTheBlobLockThatRmHolds) {
  testing::TempDir tmp;
  FakeHub hub;
  const std::string weights(1 << 20, 'w');
  hub.model("acme/tiny")
      .branch("main", {{"config.json", "{}"}, {"model.safetensors", weights}})
      .branch("v2", {{"config.json", "{\"v\":2}"}, {"model.safetensors", weights}});
  hub.start();
  DownloadOptions options = download_options(hub, tmp.path() / "cache");
  ASSERT_TRUE(download_model("acme/tiny", options));

  const RepoCache cache(tmp.path() / "cache", "acme/tiny", RepoType::model);
  const std::string etag = util_internal::sha256_hex(weights);
  const fs::path v2_link = cache.snapshot_path(hub.commit("acme/tiny", "v2"), "model.safetensors");
  options.hub.revision = "v2";
  Result<DownloadResult> result = internal_error("not run");
  {
    Result<BlobLock> rm_lock = BlobLock::acquire(cache.lock_path(etag));
    ASSERT_TRUE(rm_lock) << rm_lock.error().to_string();
    std::thread downloader([&] { result = download_model("acme/tiny", options); });
    // Whether or not the download has reached the lock yet, it must not link
    // before the blob below is gone and fetched again.
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    fs::remove(cache.blob_path(etag));
    fs::remove(cache.snapshot_path(hub.commit("acme/tiny", "main"), "model.safetensors"));
    rm_lock = internal_error("released");
    downloader.join();
  }
  ASSERT_TRUE(result) << result.error().to_string();
  ASSERT_TRUE(fs::exists(v2_link)) << "dangling link " << v2_link;
  std::ifstream in(v2_link, std::ios::binary);
  const std::string got((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(got, weights);
}

}  // namespace
}  // namespace hubload
