// serve keeps each repo's listing between requests (src/serve/listing_cache.h):
// a file's request stats that file and the folders above it, never the whole
// repo, and no request answers from a listing that a change has made stale.
#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "serve/server_testing.h"
#include "support/serve_fixture.h"
#include "util/digest.h"

namespace hubload::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Stamps every folder and file under `root` (link targets included) as written
// long ago, so a listing of it is kept: a fresh mtime makes serve walk again.
void age(const fs::path& root, std::chrono::hours by = std::chrono::hours(1)) {
  const fs::file_time_type then = fs::file_time_type::clock::now() - by;
  for (const fs::directory_entry& e : fs::recursive_directory_iterator(root)) fs::last_write_time(e.path(), then);
  fs::last_write_time(root, then);
}

void rewrite_aged(const fs::path& file, const std::string& content, std::chrono::hours by) {
  write_file(file, content);
  fs::last_write_time(file, fs::file_time_type::clock::now() - by);
}

std::string etag_of(const std::string& content) { return "\"" + util_internal::git_blob_sha1_hex(content) + "\""; }

std::unique_ptr<Server> serve_folder(const fs::path& dir) {
  ServeOptions o;
  o.folders.push_back({"local/repo", RepoType::model, dir});
  auto server = serve_internal::ServerAccess::start(std::move(o), false);
  if (!server) throw std::runtime_error(server.error().message());
  return std::move(*server);
}

struct Info {
  std::string sha;
  std::set<std::string> files;
};

Info info(httplib::Client& cli, const std::string& repo = "local/repo") {
  auto res = cli.Get(("/api/models/" + repo).c_str());
  if (!res || res->status != 200) throw std::runtime_error("repo info failed");
  json j = json::parse(res->body);
  Info out{j["sha"], {}};
  for (const json& s : j["siblings"]) out.files.insert(s["rfilename"].get<std::string>());
  return out;
}

// A folder of a.txt and sub/b.txt, aged, served once the test has added what it needs.
class ServeListingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    write_file(dir / "a.txt", "first");
    write_file(dir / "sub/b.txt", "bee");
  }
  void serve_aged() {
    age(dir.path());
    server = serve_folder(dir.path());
    client = std::make_unique<httplib::Client>(server->url());
  }
  TempDir dir;
  std::unique_ptr<Server> server;
  std::unique_ptr<httplib::Client> client;
};

TEST_F(ServeListingTest, AFileChangedAddedOrRemovedAfterTheListingIsSeenByTheNextResolve) {
  serve_aged();
  httplib::Client& cli = *client;
  const Info before = info(cli);
  ASSERT_EQ(before.files, (std::set<std::string>{"a.txt", "sub/b.txt"}));

  // Same size, an mtime that is old but not the one the listing saw.
  rewrite_aged(dir / "a.txt", "again", std::chrono::hours(2));
  auto changed = cli.Get("/local/repo/resolve/main/a.txt");
  ASSERT_TRUE(changed);
  EXPECT_EQ(changed->status, 200);
  EXPECT_EQ(changed->body, "again");
  EXPECT_EQ(changed->get_header_value("ETag"), etag_of("again"));
  EXPECT_NE(changed->get_header_value("X-Repo-Commit"), before.sha);
  // The commit the listing named no longer holds these bytes.
  EXPECT_TRUE(hub_error(cli.Head(("/local/repo/resolve/" + before.sha + "/a.txt").c_str()), 404, "RevisionNotFound"));

  write_file(dir / "sub/new.txt", "new");
  auto added = cli.Get("/local/repo/resolve/main/sub/new.txt");
  ASSERT_TRUE(added);
  EXPECT_EQ(added->status, 200);
  EXPECT_EQ(added->body, "new");

  fs::remove(dir / "sub/b.txt");
  EXPECT_TRUE(hub_error(cli.Head("/local/repo/resolve/main/sub/b.txt"), 404, "EntryNotFound"));
}

TEST_F(ServeListingTest, AListingSeesEveryChangeSinceTheLastOne) {
  write_file(dir / "sub/deeper/c.txt", "sea");
  serve_aged();
  httplib::Client& cli = *client;
  const Info first = info(cli);
  EXPECT_EQ(info(cli).sha, first.sha);  // nothing changed: the same commit

  // In place, deep down, with an old mtime: no folder's mtime moves.
  rewrite_aged(dir / "sub/deeper/c.txt", "SEA", std::chrono::hours(2));
  const Info changed = info(cli);
  EXPECT_NE(changed.sha, first.sha);
  EXPECT_EQ(changed.files, first.files);
  age(dir.path(), std::chrono::hours(3));
  const Info settled = info(cli);

  write_file(dir / "sub/deeper/d.txt", "dee");
  const Info added = info(cli);
  EXPECT_NE(added.sha, settled.sha);
  EXPECT_EQ(added.files.count("sub/deeper/d.txt"), 1u);
  age(dir.path(), std::chrono::hours(4));
  info(cli);

  fs::remove(dir / "sub/b.txt");
  const Info removed = info(cli);
  EXPECT_EQ(removed.files, (std::set<std::string>{"a.txt", "sub/deeper/c.txt", "sub/deeper/d.txt"}));
  auto tree = cli.Get("/api/models/local/repo/tree/main/sub");
  ASSERT_TRUE(tree);
  EXPECT_EQ(tree->body.find("sub/b.txt"), std::string::npos) << tree->body;
}

TEST(ServeListing, ARewriteWithinTheTimestampGranularityIsSeen) {
  TempDir dir;
  write_file(dir / "a.txt", "aaaa");
  // An mtime the clock has not yet left 2 s behind is never trusted; a future one
  // keeps it so however slowly this test runs.
  const fs::file_time_type stamp = fs::file_time_type::clock::now() + std::chrono::minutes(1);
  fs::last_write_time(dir / "a.txt", stamp);
  auto server = serve_folder(dir.path());
  httplib::Client cli(server->url());
  auto first = cli.Get("/api/models/local/repo?blobs=true");
  ASSERT_TRUE(first);
  EXPECT_EQ(json::parse(first->body)["siblings"][0]["blobId"], util_internal::git_blob_sha1_hex("aaaa"));
  // Same size and, as a coarse clock would leave it, the same mtime.
  write_file(dir / "a.txt", "bbbb");
  fs::last_write_time(dir / "a.txt", stamp);
  auto second = cli.Get("/api/models/local/repo?blobs=true");
  ASSERT_TRUE(second);
  EXPECT_EQ(json::parse(second->body)["siblings"][0]["blobId"], util_internal::git_blob_sha1_hex("bbbb"));
  auto body = cli.Get("/local/repo/resolve/main/a.txt");
  ASSERT_TRUE(body);
  EXPECT_EQ(body->get_header_value("ETag"), etag_of("bbbb"));
}

// What one request stat'ed, through the server's count.
template <typename F>
std::uint64_t examined_by(const Server& server, F&& request) {
  const std::uint64_t before = serve_internal::ServerAccess::paths_examined(server);
  request();
  return serve_internal::ServerAccess::paths_examined(server) - before;
}

TEST(ServeListing, AResolveInALargeFolderStatsOnlyTheFileAndTheFoldersAboveIt) {
  TempDir dir;
  constexpr int kFiles = 400;
  for (int i = 0; i < kFiles; ++i) write_file(dir / ("data/part-" + std::to_string(i) + ".txt"), std::to_string(i));
  age(dir.path());
  auto server = serve_folder(dir.path());
  httplib::Client cli(server->url());
  EXPECT_GE(examined_by(*server, [&] { info(cli); }), std::uint64_t{kFiles});
  for (int i : {0, 17, 399}) {
    const std::string content = std::to_string(i);
    const std::uint64_t n = examined_by(*server, [&] {
      auto res = cli.Get(("/local/repo/resolve/main/data/part-" + content + ".txt").c_str());
      ASSERT_TRUE(res);
      EXPECT_EQ(res->body, content);
    });
    EXPECT_LE(n, 3u) << "the root, data/ and the file";
  }
  // A name the repo does not have costs no more.
  EXPECT_LE(examined_by(*server, [&] { cli.Head("/local/repo/resolve/main/data/none.txt"); }), 2u);
}

TEST(ServeListing, ACacheSnapshotIsCheckedLikeAFolder) {
  FakeHub hub;
  RepoFiles files;
  for (int i = 0; i < 200; ++i) files["data/f" + std::to_string(i) + ".txt"] = std::to_string(i);
  hub.model("acme/many").branch("main", files);
  const fs::path cache = hub.write_cache();
  age(cache);
  ServeOptions o;
  o.cache_dir = cache;
  auto started = serve_internal::ServerAccess::start(std::move(o), false);
  ASSERT_TRUE(started) << started.error().message();
  Server& server = **started;
  httplib::Client cli(server.url());
  EXPECT_EQ(info(cli, "acme/many").files.size(), 200u);
  const std::uint64_t n = examined_by(server, [&] {
    auto res = cli.Get("/acme/many/resolve/main/data/f7.txt");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->body, "7");
  });
  EXPECT_LE(n, 3u);

  // A later download of the same commit adds a file to the snapshot.
  write_file(cache / "models--acme--many" / "snapshots" / hub.commit("acme/many") / "data/late.txt", "late");
  EXPECT_EQ(info(cli, "acme/many").files.count("data/late.txt"), 1u);
  auto late = cli.Get("/acme/many/resolve/main/data/late.txt");
  ASSERT_TRUE(late);
  EXPECT_EQ(late->body, "late");
}

TEST(ServeListing, ALinkThatNowLeadsOutOfTheFolderIsRefusedEvenWithItsOldStamp) {
  TempDir dir, outside;
  write_file(dir / "inside/real.txt", "inside");
  write_file(outside / "elsewhere/real.txt", "secret");  // same size
  // alias.txt -> outside/hop/real.txt, and hop -> the folder's own inside/: allowed.
  fs::create_directory_symlink(dir / "inside", outside / "hop");
  fs::create_symlink(outside / "hop/real.txt", dir / "alias.txt");
  age(dir.path());
  age(outside.path());
  auto server = serve_folder(dir.path());
  httplib::Client cli(server->url());
  EXPECT_EQ(info(cli).files.count("alias.txt"), 1u);
  auto ok = cli.Get("/local/repo/resolve/main/alias.txt");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->body, "inside");

  // Re-point hop, outside the folder, at a file with the same size and mtime:
  // nothing in the folder moves.
  const fs::file_time_type stamp = fs::last_write_time(dir / "inside/real.txt");
  fs::last_write_time(outside / "elsewhere/real.txt", stamp);
  fs::remove(outside / "hop");
  fs::create_directory_symlink(outside / "elsewhere", outside / "hop");
  EXPECT_TRUE(hub_error(cli.Get("/local/repo/resolve/main/alias.txt"), 404, "EntryNotFound"));
  EXPECT_EQ(info(cli).files.count("alias.txt"), 0u);
}

}  // namespace
}  // namespace hubload::testing
