// The JSON APIs (repo info, tree with pagination, refs, paths-info), folder
// repos, and the pure route parser.
#include <gtest/gtest.h>
#include <httplib.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "serve/hash.h"
#include "serve/route.h"
#include "support/serve_fixture.h"
#include "util/digest.h"

namespace hubload::testing {
namespace {

using nlohmann::json;

const std::string kWeights(3000, 'w');

class ServeApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    hub.model("acme/tiny")
        .branch("main", {{"config.json", "{}"},
                         {"model.safetensors", kWeights},
                         {"sub/notes.txt", "notes"},
                         {"sub/deeper/x.txt", "x"}})
        .tag("v1.0", {{"config.json", "{\"v\": 1}"}})
        .pr(1, {{"config.json", "{\"pr\": 1}"}});
  }
  json get_json(const std::string& target, int expected_status = 200) {
    httplib::Client cli(hub.url());
    auto res = cli.Get(target.c_str());
    EXPECT_TRUE(res) << target;
    if (!res) return {};
    EXPECT_EQ(res->status, expected_status) << target;
    return json::parse(res->body);
  }
  static std::vector<std::string> paths(const json& entries) {
    std::vector<std::string> out;
    for (const json& e : entries) out.push_back(e["path"]);
    return out;
  }
  FakeHub hub;
};

TEST_F(ServeApiTest, RepoInfoListsSiblingsAtTheRevision) {
  hub.start();
  json info = get_json("/api/models/acme/tiny");
  EXPECT_EQ(info["id"], "acme/tiny");
  EXPECT_EQ(info["sha"], hub.commit("acme/tiny", "main"));
  EXPECT_TRUE(info.contains("_id"));
  std::vector<std::string> names;
  for (const json& s : info["siblings"]) names.push_back(s["rfilename"]);
  EXPECT_EQ(names, (std::vector<std::string>{"config.json", "model.safetensors", "sub/deeper/x.txt", "sub/notes.txt"}));
  EXPECT_FALSE(info["siblings"][0].contains("size"));

  json tag = get_json("/api/models/acme/tiny/revision/v1.0");
  EXPECT_EQ(tag["sha"], hub.commit("acme/tiny", "v1.0"));
  EXPECT_EQ(tag["siblings"].size(), 1u);
  json pr = get_json("/api/models/acme/tiny/revision/refs%2Fpr%2F1");
  EXPECT_EQ(pr["sha"], hub.commit("acme/tiny", "refs/pr/1"));
}

TEST_F(ServeApiTest, RepoInfoWithBlobsHasSizesAndLfs) {
  hub.start();
  json info = get_json("/api/models/acme/tiny/revision/main?blobs=True");
  const json& weights = info["siblings"][1];
  EXPECT_EQ(weights["rfilename"], "model.safetensors");
  EXPECT_EQ(weights["size"], 3000);
  EXPECT_EQ(weights["lfs"]["sha256"], util_internal::sha256_hex(kWeights));
  EXPECT_EQ(weights["lfs"]["size"], 3000);
  // 43 ("version ...v1\n") + 76 ("oid sha256:<64>\n") + 10 ("size 3000\n")
  EXPECT_EQ(weights["lfs"]["pointerSize"], 129);
  EXPECT_EQ(info["siblings"][0]["blobId"], util_internal::git_blob_sha1_hex("{}"));
  EXPECT_FALSE(info["siblings"][0].contains("lfs"));
}

TEST_F(ServeApiTest, RepoInfoErrors) {
  hub.start();
  httplib::Client cli(hub.url());
  EXPECT_TRUE(hub_error(cli.Get("/api/models/acme/tiny/revision/nope"), 404, "RevisionNotFound"));
  EXPECT_TRUE(hub_error(cli.Get("/api/models/acme/none"), 401, "RepoNotFound"));
}

TEST_F(ServeApiTest, TreeListsOneLevelOrRecursively) {
  hub.start();
  json top = get_json("/api/models/acme/tiny/tree/main");
  EXPECT_EQ(paths(top), (std::vector<std::string>{"config.json", "model.safetensors", "sub"}));
  EXPECT_EQ(top[2]["type"], "directory");
  EXPECT_EQ(top[0]["oid"], util_internal::git_blob_sha1_hex("{}"));
  EXPECT_EQ(top[1]["lfs"]["oid"], util_internal::sha256_hex(kWeights));
  EXPECT_EQ(top[1]["oid"], util_internal::git_blob_sha1_hex(serve_internal::lfs_pointer(util_internal::sha256_hex(kWeights), 3000)));
  EXPECT_FALSE(top[1].contains("xetHash"));

  const std::vector<std::string> all = {"config.json", "model.safetensors", "sub", "sub/deeper", "sub/deeper/x.txt",
                                        "sub/notes.txt"};
  EXPECT_EQ(paths(get_json("/api/models/acme/tiny/tree/main?recursive=True&expand=False")), all);
  EXPECT_EQ(paths(get_json("/api/models/acme/tiny/tree/main?recursive=true&expand=false")), all);
  EXPECT_EQ(paths(get_json("/api/models/acme/tiny/tree/main?recursive=1")), all);
}

TEST_F(ServeApiTest, TreeOfSubfolderAcceptsEncodedAndRawSlashes) {
  hub.start();
  std::vector<std::string> want = {"sub/deeper/x.txt"};
  EXPECT_EQ(paths(get_json("/api/models/acme/tiny/tree/main/sub%2Fdeeper")), want);
  EXPECT_EQ(paths(get_json("/api/models/acme/tiny/tree/main/sub/deeper")), want);
  json missing = get_json("/api/models/acme/tiny/tree/main/nope", 404);
  EXPECT_TRUE(missing.contains("error"));
}

TEST_F(ServeApiTest, TreeExpandAddsLastCommit) {
  hub.start();
  json top = get_json("/api/models/acme/tiny/tree/main?expand=True");
  EXPECT_EQ(top[0]["lastCommit"]["id"], hub.commit("acme/tiny", "main"));
}

TEST_F(ServeApiTest, TreePaginatesWithAbsoluteLinkNext) {
  hub.start(FakeHubOptions().with_tree_page_size(4));
  httplib::Client cli(hub.url());
  auto first = cli.Get("/api/models/acme/tiny/tree/main?recursive=True&expand=False");
  ASSERT_TRUE(first);
  json page1 = json::parse(first->body);
  EXPECT_EQ(page1.size(), 4u);
  std::string link = first->get_header_value("Link");
  const std::string prefix = "<" + hub.url() + "/api/models/acme/tiny/tree/main?";
  ASSERT_EQ(link.rfind(prefix, 0), 0u) << link;
  ASSERT_NE(link.find(">; rel=\"next\""), std::string::npos) << link;
  EXPECT_NE(link.find("recursive=True"), std::string::npos) << link;
  std::string next = link.substr(1 + hub.url().size(), link.find('>') - 1 - hub.url().size());
  auto second = cli.Get(next.c_str());
  ASSERT_TRUE(second);
  json page2 = json::parse(second->body);
  EXPECT_EQ(paths(page2), (std::vector<std::string>{"sub/deeper/x.txt", "sub/notes.txt"}));
  EXPECT_FALSE(second->has_header("Link"));
}

TEST_F(ServeApiTest, RefsListBranchesAndPullRequests) {
  hub.start();
  json refs = get_json("/api/models/acme/tiny/refs?include_prs=1");
  std::vector<std::string> names;
  for (const json& b : refs["branches"]) names.push_back(b["name"]);
  EXPECT_EQ(names, (std::vector<std::string>{"main", "v1.0"}));
  ASSERT_EQ(refs["pullRequests"].size(), 1u);
  EXPECT_EQ(refs["pullRequests"][0]["ref"], "refs/pr/1");
  EXPECT_EQ(refs["pullRequests"][0]["targetCommit"], hub.commit("acme/tiny", "refs/pr/1"));
  EXPECT_FALSE(get_json("/api/models/acme/tiny/refs").contains("pullRequests"));
}

TEST_F(ServeApiTest, PathsInfoAcceptsJsonAndForm) {
  hub.start();
  httplib::Client cli(hub.url());
  auto res = cli.Post("/api/models/acme/tiny/paths-info/main", R"({"paths": ["config.json", "sub", "nope"]})",
                      "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  json j = json::parse(res->body);
  EXPECT_EQ(paths(j), (std::vector<std::string>{"config.json", "sub"}));
  httplib::Params form{{"paths", "model.safetensors"}, {"expand", "True"}};
  auto f = cli.Post("/api/models/acme/tiny/paths-info/main", form);
  ASSERT_TRUE(f);
  json fj = json::parse(f->body);
  ASSERT_EQ(fj.size(), 1u);
  EXPECT_EQ(fj[0]["lfs"]["oid"], util_internal::sha256_hex(kWeights));
  EXPECT_EQ(fj[0]["lastCommit"]["id"], hub.commit("acme/tiny", "main"));
}

// Found by fuzz/serve_request_fuzz.cpp: a non-boolean "expand" made the JSON
// library throw inside the handler (HTTP 500 for a client's mistake).
TEST_F(ServeApiTest, PathsInfoRefusesANonBooleanExpand) {
  hub.start();
  httplib::Client cli(hub.url());
  auto status_for = [&cli](const std::string& expand) {
    auto res = cli.Post("/api/models/acme/tiny/paths-info/main", R"({"paths": ["config.json"], "expand": )" + expand + "}",
                        "application/json");
    return res ? res->status : -1;
  };
  EXPECT_EQ(status_for(R"("yes")"), 400);
  EXPECT_EQ(status_for("[true]"), 400);
  EXPECT_EQ(status_for("false"), 200);
}

TEST_F(ServeApiTest, FolderRepoHasADeterministicCommitThatFollowsChanges) {
  std::filesystem::path dir = hub.write_folder("acme/tiny");
  ServeOptions o;
  o.folders.push_back({"local/tiny", RepoType::model, dir});
  auto server = Server::start(o);
  ASSERT_TRUE(server) << server.error().to_string();
  httplib::Client cli((*server)->url());
  auto info = cli.Get("/api/models/local/tiny");
  ASSERT_TRUE(info);
  std::string sha = json::parse(info->body)["sha"];
  EXPECT_TRUE(util_internal::is_git_sha1_hex(sha));
  auto again = cli.Get("/api/models/local/tiny");
  EXPECT_EQ(json::parse(again->body)["sha"], sha);

  auto small = cli.Head(("/local/tiny/resolve/" + sha + "/sub/notes.txt").c_str());
  ASSERT_TRUE(small);
  EXPECT_EQ(small->status, 200);
  EXPECT_EQ(small->get_header_value("ETag"), "\"" + util_internal::git_blob_sha1_hex("notes") + "\"");
  EXPECT_EQ(small->get_header_value("X-Repo-Commit"), sha);
  auto big = cli.Head("/local/tiny/resolve/main/model.safetensors");
  ASSERT_TRUE(big);
  EXPECT_EQ(big->get_header_value("X-Linked-Etag"), "\"" + util_internal::sha256_hex(kWeights) + "\"");

  write_file(dir / "extra.txt", "new");
  auto changed = cli.Get("/api/models/local/tiny");
  EXPECT_NE(json::parse(changed->body)["sha"], sha);
  auto old = cli.Head(("/local/tiny/resolve/" + sha + "/config.json").c_str());
  EXPECT_EQ(old->get_header_value("X-Error-Code"), "RevisionNotFound");
}

TEST_F(ServeApiTest, StartRejectsMissingSources) {
  ServeOptions o;
  auto none = Server::start(o);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().kind(), ErrorKind::invalid_input);
  o.folders.push_back({"a/b", RepoType::model, hub.dir() / "does-not-exist"});
  auto missing = Server::start(o);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message().find("does-not-exist"), std::string::npos);
}

TEST_F(ServeApiTest, CacheFoldersThatNameNoRepoAreNotServed) {
  namespace fs = std::filesystem;
  const fs::path root = hub.write_cache();
  for (const char* stray : {".locks/models--acme--tiny", "checkpoints--x/refs", "models--"}) {
    fs::create_directories(root / stray);
  }
  // Complete repos, but under names that no valid repo id produces (clients
  // refuse such ids, so nothing could ask for them anyway).
  for (const char* bad : {"models--tiny-", "models--acme--ti..ny"}) {
    fs::copy(root / "models--acme--tiny", root / bad, fs::copy_options::recursive | fs::copy_options::copy_symlinks);
  }
  ServeOptions o;
  o.cache_dir = root;
  auto server = Server::start(o);
  ASSERT_TRUE(server) << server.error().to_string();
  httplib::Client cli((*server)->url());
  auto good = cli.Get("/api/models/acme/tiny");
  ASSERT_TRUE(good);
  EXPECT_EQ(good->status, 200);
  EXPECT_TRUE(hub_error(cli.Get("/api/models/tiny-"), 401, "RepoNotFound"));
  EXPECT_TRUE(hub_error(cli.Get("/tiny-/resolve/main/config.json"), 401, "RepoNotFound"));
}

TEST_F(ServeApiTest, FolderRepoIdsAreValidated) {
  ServeOptions o;
  o.folders.push_back({"bad id/x", RepoType::model, hub.write_folder("acme/tiny")});
  auto bad = Server::start(o);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().kind(), ErrorKind::invalid_input);
  EXPECT_NE(bad.error().message().find("bad id/x"), std::string::npos) << bad.error().message();
}

TEST(ServeRoute, ParsesResolveApiAndEncodedRevisions) {
  using serve_internal::Route;
  Route r = serve_internal::parse_route("/acme/tiny/resolve/refs%2Fpr%2F1/sub%20dir/a%23b.txt");
  EXPECT_EQ(r.kind, Route::Kind::resolve);
  EXPECT_EQ(r.repo_id, "acme/tiny");
  EXPECT_EQ(r.revision, "refs/pr/1");
  EXPECT_EQ(r.path, "sub dir/a#b.txt");

  r = serve_internal::parse_route("/acme/tiny/resolve/refs/pr/2/config.json");
  EXPECT_EQ(r.revision, "refs/pr/2");
  EXPECT_EQ(r.path, "config.json");

  r = serve_internal::parse_route("/spaces/o/s/resolve/main/app.py?x=1");
  EXPECT_EQ(r.type, RepoType::space);
  EXPECT_EQ(r.raw_prefix, "/spaces/");
  EXPECT_EQ(r.raw_suffix, "/resolve/main/app.py?x=1");

  r = serve_internal::parse_route("/api/datasets/o/d/tree/v1/a%2Fb");
  EXPECT_EQ(r.kind, Route::Kind::tree);
  EXPECT_EQ(r.type, RepoType::dataset);
  EXPECT_EQ(r.path, "a/b");

  r = serve_internal::parse_route("/api/models/gpt2/revision/main");
  EXPECT_EQ(r.kind, Route::Kind::repo_info);
  EXPECT_EQ(r.repo_id, "gpt2");

  EXPECT_EQ(serve_internal::parse_route("/a/b/resolve/main/x/%2E%2E/y").kind, Route::Kind::bad_path);
  EXPECT_EQ(serve_internal::parse_route("/a/b/resolve/main/x%2F..%2Fy").kind, Route::Kind::bad_path);
  EXPECT_EQ(serve_internal::parse_route("/a/b/resolve/main/%zz").kind, Route::Kind::bad_path);
  EXPECT_EQ(serve_internal::parse_route("/a/b/resolve/main/").kind, Route::Kind::bad_path);
  EXPECT_EQ(serve_internal::parse_route("/a/b/blob/main/x").kind, Route::Kind::unknown);
}

// Found by serve_request_fuzz: a route that ends right after "resolve" kept a
// repo id with ".." and the kind `unknown`; any route that took such an id is bad_path.
TEST(ServeRoute, RefusesDotDotInTheRepoIdEvenWithoutARevision) {
  using serve_internal::Route;
  for (const char* target : {"/tiel%2F..\xfe\xff\xfftc%2Fpn'y/resolve", "/at..!2Fy/resolve", "/a/b..c/resolve",
                             "/api/models/a/..b", "/api/models/../x/tree/main/f"}) {
    Route r = serve_internal::parse_route(target);
    EXPECT_EQ(r.kind, Route::Kind::bad_path) << target;
  }
  EXPECT_EQ(serve_internal::parse_route("/a/b/resolve").kind, Route::Kind::unknown);
}

}  // namespace
}  // namespace hubload::testing
