// HEAD/GET /resolve against a fake Hub: the headers of hub-protocol.md §2.3,
// Range answers of §3.3, revisions of every kind and the X-Error-Code answers.
#include <gtest/gtest.h>
#include <httplib.h>

#include <string>
#include <utility>

#include "util/digest.h"
#include "support/serve_fixture.h"

namespace hubload::testing {
namespace {

const std::string kConfig = "{\"model_type\": \"llama\"}\n";
const std::string kWeights(3000, 'w');

class ServeResolveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    hub.model("acme/tiny")
        .branch("main", {{"config.json", kConfig}, {"model.safetensors", kWeights}, {"sub/notes.txt", "notes"}})
        .tag("v1.0", {{"config.json", "{\"v\": 1}"}})
        .pr(1, {{"config.json", "{\"pr\": 1}"}});
    hub.model("gpt2").branch("main", {{"config.json", "{}"}});
    hub.dataset("acme/data").branch("main", {{"data/train.csv", "a,b\n1,2\n"}});
    hub.start();
  }
  httplib::Client client() { return httplib::Client(hub.url()); }
  FakeHub hub;
};

TEST_F(ServeResolveTest, HeadOfRegularFileHasCommitEtagAndLength) {
  auto res = client().Head("/acme/tiny/resolve/main/config.json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("X-Repo-Commit"), hub.commit("acme/tiny", "main"));
  EXPECT_EQ(res->get_header_value("ETag"), "\"" + util_internal::git_blob_sha1_hex(kConfig) + "\"");
  EXPECT_EQ(res->get_header_value("Content-Length"), std::to_string(kConfig.size()));
  EXPECT_EQ(res->get_header_value("Accept-Ranges"), "bytes");
  EXPECT_FALSE(res->has_header("X-Linked-Etag"));
  EXPECT_EQ(res->body, "");
}

TEST_F(ServeResolveTest, GetOfRegularFileReturnsItsBytes) {
  auto res = client().Get("/acme/tiny/resolve/main/config.json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, kConfig);
  EXPECT_EQ(res->get_header_value("X-Repo-Commit"), hub.commit("acme/tiny", "main"));
}

TEST_F(ServeResolveTest, LfsFileWithoutCdnAnswers200WithContentHash) {
  const std::string sha = util_internal::sha256_hex(kWeights);
  auto res = client().Head("/acme/tiny/resolve/main/model.safetensors");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("X-Linked-Etag"), "\"" + sha + "\"");
  EXPECT_EQ(res->get_header_value("X-Linked-Size"), "3000");
  EXPECT_EQ(res->get_header_value("ETag"), "\"" + sha + "\"");
  EXPECT_EQ(res->get_header_value("Content-Length"), "3000");
  auto get = client().Get("/acme/tiny/resolve/main/model.safetensors");
  ASSERT_TRUE(get);
  EXPECT_EQ(get->body, kWeights);
}

TEST_F(ServeResolveTest, RangeAnswers206WithClampedContentRange) {
  auto cli = client();
  auto res = cli.Get("/acme/tiny/resolve/main/config.json", {{"Range", "bytes=2-5"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 206);
  EXPECT_EQ(res->body, kConfig.substr(2, 4));
  EXPECT_EQ(res->get_header_value("Content-Range"), "bytes 2-5/" + std::to_string(kConfig.size()));

  res = cli.Get("/acme/tiny/resolve/main/model.safetensors", {{"Range", "bytes=2990-99999"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 206);
  EXPECT_EQ(res->body, std::string(10, 'w'));
  EXPECT_EQ(res->get_header_value("Content-Range"), "bytes 2990-2999/3000");

  res = cli.Get("/acme/tiny/resolve/main/model.safetensors", {{"Range", "bytes=0-0"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 206);
  EXPECT_EQ(res->body, "w");
  EXPECT_EQ(res->get_header_value("Content-Range"), "bytes 0-0/3000");
  EXPECT_EQ(res->get_header_value("X-Linked-Size"), "3000");

  res = cli.Get("/acme/tiny/resolve/main/model.safetensors", {{"Range", "bytes=2000-"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 206);
  EXPECT_EQ(res->body.size(), 1000u);
}

TEST_F(ServeResolveTest, RangeStartingAtOrPastTheEndAnswers416) {
  auto res = client().Get("/acme/tiny/resolve/main/model.safetensors", {{"Range", "bytes=3000-"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 416);
  EXPECT_EQ(res->get_header_value("Content-Range"), "bytes */3000");
}

TEST_F(ServeResolveTest, RevisionsByBranchTagCommitAndPullRequest) {
  auto cli = client();
  auto tag = cli.Get("/acme/tiny/resolve/v1.0/config.json");
  ASSERT_TRUE(tag);
  EXPECT_EQ(tag->body, "{\"v\": 1}");
  EXPECT_EQ(tag->get_header_value("X-Repo-Commit"), hub.commit("acme/tiny", "v1.0"));

  const std::string commit = hub.commit("acme/tiny", "v1.0");
  auto by_commit = cli.Get("/acme/tiny/resolve/" + commit + "/config.json");
  ASSERT_TRUE(by_commit);
  EXPECT_EQ(by_commit->body, "{\"v\": 1}");

  auto pr = cli.Get("/acme/tiny/resolve/refs%2Fpr%2F1/config.json");
  ASSERT_TRUE(pr);
  EXPECT_EQ(pr->status, 200);
  EXPECT_EQ(pr->body, "{\"pr\": 1}");
  EXPECT_EQ(pr->get_header_value("X-Repo-Commit"), hub.commit("acme/tiny", "refs/pr/1"));
}

TEST_F(ServeResolveTest, SubfolderDatasetAndLegacyIds) {
  auto cli = client();
  const std::pair<std::string, std::string> files[] = {
      {"/acme/tiny/resolve/main/sub/notes.txt", "notes"},
      {"/datasets/acme/data/resolve/main/data/train.csv", "a,b\n1,2\n"},
      {"/gpt2/resolve/main/config.json", "{}"},
  };
  for (const auto& [target, body] : files) {
    auto res = cli.Get(target);
    ASSERT_TRUE(res) << target;
    EXPECT_EQ(res->status, 200) << target;
    EXPECT_EQ(res->body, body) << target;
  }
  // A dataset is not reachable under the model prefix.
  EXPECT_TRUE(hub_error(cli.Head("/acme/data/resolve/main/data/train.csv"), 401, "RepoNotFound"));
}

TEST_F(ServeResolveTest, ErrorsCarryTheHubErrorCodes) {
  auto cli = client();
  auto missing_file = cli.Head("/acme/tiny/resolve/main/nope.txt");
  ASSERT_TRUE(hub_error(missing_file, 404, "EntryNotFound"));
  EXPECT_EQ(missing_file->get_header_value("X-Repo-Commit"), hub.commit("acme/tiny", "main"));

  auto missing_rev = cli.Head("/acme/tiny/resolve/nope/config.json");
  ASSERT_TRUE(hub_error(missing_rev, 404, "RevisionNotFound"));
  EXPECT_FALSE(missing_rev->has_header("X-Repo-Commit"));

  auto missing_repo = cli.Get("/acme/none/resolve/main/config.json");
  ASSERT_TRUE(hub_error(missing_repo, 401, "RepoNotFound"));
  EXPECT_NE(missing_repo->body.find("\"error\""), std::string::npos);

  EXPECT_TRUE(hub_error(cli.Get("/api/agent-harnesses"), 404, ""));
}

TEST_F(ServeResolveTest, PathTraversalIsRefused) {
  auto cli = client();
  for (const char* target : {"/acme/tiny/resolve/main/../../../etc/passwd", "/acme/tiny/resolve/main/%2e%2e/config.json",
                             "/acme/tiny/resolve/main/sub%2F..%2F..%2Fconfig.json",
                             "/acme/tiny/resolve/..%2F..%2Frefs/config.json"}) {
    auto res = cli.Get(target);
    ASSERT_TRUE(res) << target;
    EXPECT_TRUE(res->status == 400 || res->status == 404) << target << " -> " << res->status;
    EXPECT_NE(res->body, kConfig) << target;
  }
  auto res = cli.Get("/acme/tiny/resolve/main/%2e%2e/config.json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
}

TEST_F(ServeResolveTest, CountsRequestsAndBytes) {
  auto cli = client();
  ASSERT_TRUE(cli.Head("/acme/tiny/resolve/main/config.json"));
  ASSERT_TRUE(cli.Get("/acme/tiny/resolve/main/config.json"));
  ASSERT_TRUE(cli.Get("/acme/tiny/resolve/main/config.json"));
  ServeStats s = hub.stats();
  EXPECT_EQ(s.count("HEAD", "/acme/tiny/resolve/main/config.json"), 1u);
  EXPECT_EQ(s.count("GET", "/acme/tiny/resolve/main/config.json"), 2u);
  EXPECT_EQ(s.bytes_sent, 2 * kConfig.size());
}

}  // namespace
}  // namespace hubload::testing
