// `hubload cache ls|verify|rm|prune` as a user runs them, on a cache that
// `hubload download` wrote from a local serve: JSON documents, exit codes, the
// question before deleting, --dry-run, and verify --online against that serve.
#include <filesystem>
#include <set>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/serve_fixture.h"
#include "support/test_support.h"

namespace hubload {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::string kWeights(5000, 'w');

class CacheCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    hub.model("acme/tiny")
        .branch("main", {{"config.json", "{\"v\":2}"}, {"model.safetensors", kWeights}})
        .tag("v1", {{"config.json", "{\"v\":1}"}, {"model.safetensors", kWeights}});
    hub.dataset("acme/ds").branch("main", {{"data.csv", "a,b\n"}});
    hub.start();
    for (const char* args : {"acme/tiny", "acme/tiny --revision v1", "acme/ds --repo-type dataset"}) {
      auto r = hubload(fmt::format("download {} --include '*' --endpoint {} --cache-dir {} --quiet", args, hub.url(),
                                   cache.string()));
      ASSERT_EQ(r.exit_code, 0) << err();
    }
  }
  testing::CommandResult hubload(const std::string& args) const {
    return testing::run_command(fmt::format("env -u HF_TOKEN -u HF_HUB_OFFLINE HF_HOME={}/home {} {} </dev/null 2>{}/err",
                                            tmp.path().string(), testing::cli_path().string(), args,
                                            tmp.path().string()));
  }
  testing::CommandResult cache_cmd(const std::string& sub, const std::string& args = "") const {
    return hubload(fmt::format("cache {} --cache-dir {} {}", sub, cache.string(), args));
  }
  std::string err() const { return testing::read_file(tmp.path() / "err"); }
  fs::path blob(const std::string& path, const std::string& content) const {
    return cache / "models--acme--tiny" / "blobs" / hub.etag(path, content);
  }
  fs::path snapshot(const std::string& revision) const {
    return cache / "models--acme--tiny" / "snapshots" / hub.commit("acme/tiny", revision);
  }
  // Every path under the cache, with what a link points to and a file's bytes.
  std::set<std::string> listing() const {
    std::set<std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(cache)) {
      std::string line = e.path().string();
      if (e.is_symlink()) line += " -> " + fs::read_symlink(e.path()).string();
      else if (e.is_regular_file()) line += " = " + testing::read_file(e.path());
      out.insert(line);
    }
    return out;
  }

  testing::TempDir tmp;
  testing::FakeHub hub;
  fs::path cache = tmp.path() / "cache";
};

TEST_F(CacheCliTest, LsReportsSizesFilesRefsAndFiltersSortsAndLimits) {
  auto r = cache_cmd("ls", "--json --revisions");
  ASSERT_EQ(r.exit_code, 0) << err();
  const json doc = json::parse(r.out);
  ASSERT_EQ(doc["repos"].size(), 2u);
  const json& tiny = doc["repos"][1];
  EXPECT_EQ(tiny["id"], "acme/tiny");
  EXPECT_EQ(tiny["type"], "model");
  EXPECT_EQ(tiny["size"], kWeights.size() + 2 * std::string("{\"v\":2}").size());  // the weights once
  EXPECT_EQ(tiny["files"], 3);
  EXPECT_EQ(tiny["refs"], json({{"main", hub.commit("acme/tiny", "main")}, {"v1", hub.commit("acme/tiny", "v1")}}));
  ASSERT_EQ(tiny["revisions"].size(), 2u);
  for (const json& rev : tiny["revisions"]) {
    EXPECT_EQ(rev["files"], 2);
    EXPECT_EQ(rev["size"], kWeights.size() + 7);
  }
  EXPECT_EQ(doc["totals"]["size"], kWeights.size() + 14 + 4);
  EXPECT_EQ(doc["totals"]["reclaimable"], 0);
  EXPECT_TRUE(doc["warnings"].empty());

  auto only = [&](const std::string& args) {
    auto res = cache_cmd("ls", "--json " + args);
    EXPECT_EQ(res.exit_code, 0) << err();
    std::vector<std::string> ids;
    const json listed = json::parse(res.out);
    for (const json& repo : listed["repos"]) ids.push_back(repo["id"]);
    return ids;
  };
  EXPECT_EQ(only("--filter type=dataset"), std::vector<std::string>{"acme/ds"});
  EXPECT_EQ(only("--filter 'size>1KB' --filter refs=v1"), std::vector<std::string>{"acme/tiny"});
  EXPECT_EQ(only("--filter 'accessed>7d'"), std::vector<std::string>{});
  EXPECT_EQ(only("--sort size"), (std::vector<std::string>{"acme/tiny", "acme/ds"}));
  EXPECT_EQ(only("--sort size:asc --limit 1"), std::vector<std::string>{"acme/ds"});
  EXPECT_EQ(cache_cmd("ls", "--filter colour=red").exit_code, 3);
  EXPECT_NE(err().find("colour"), std::string::npos);

  auto text = cache_cmd("ls");
  EXPECT_NE(text.out.find("model/acme/tiny"), std::string::npos);
  EXPECT_NE(text.out.find("main, v1"), std::string::npos);
}

TEST_F(CacheCliTest, VerifyExitCodeSaysWhetherAllIsWell) {
  auto good = cache_cmd("verify", "--json --threads 2");
  ASSERT_EQ(good.exit_code, 0) << err();
  json doc = json::parse(good.out);
  EXPECT_EQ(doc["ok"], true);
  EXPECT_EQ(doc["blobs"], 4);
  EXPECT_EQ(doc["files"], 5);
  EXPECT_GT(doc["bytes_per_second"].get<double>(), 0);

  std::string bytes = testing::read_file(blob("model.safetensors", kWeights));
  bytes[10] = 'x';
  fs::remove(blob("model.safetensors", kWeights));
  testing::write_file(blob("model.safetensors", kWeights), bytes);
  auto bad = cache_cmd("verify", "acme/tiny --json");
  EXPECT_EQ(bad.exit_code, 7);
  doc = json::parse(bad.out);
  ASSERT_EQ(doc["mismatches"].size(), 1u);
  EXPECT_EQ(doc["mismatches"][0]["expected"], hub.etag("model.safetensors", kWeights));
  EXPECT_EQ(doc["mismatches"][0]["actual"], hub.etag("model.safetensors", bytes));
  EXPECT_EQ(doc["error"]["kind"], "integrity");
  auto text = cache_cmd("verify");
  EXPECT_EQ(text.exit_code, 7);
  EXPECT_NE(text.out.find(hub.etag("model.safetensors", bytes)), std::string::npos);
  EXPECT_NE(text.out.find("hashed in"), std::string::npos);

  auto fix = cache_cmd("verify", "--fix --json");
  EXPECT_EQ(fix.exit_code, 7);
  EXPECT_TRUE(fs::exists(cache / "models--acme--tiny" / ".quarantine" / hub.etag("model.safetensors", kWeights)));
  auto missing = cache_cmd("verify", "--json");
  EXPECT_EQ(missing.exit_code, 4);
  EXPECT_EQ(json::parse(missing.out)["missing"].size(), 2u);
  // The next download fetches the quarantined blob again.
  ASSERT_EQ(hubload(fmt::format("download acme/tiny --include '*' --endpoint {} --cache-dir {} --quiet", hub.url(),
                                cache.string())).exit_code, 0) << err();
  EXPECT_EQ(testing::read_file(blob("model.safetensors", kWeights)), kWeights);
}

TEST_F(CacheCliTest, BadInputGivesAClearMessageAndItsExitCode) {
  for (const char* sub : {"ls", "verify", "rm acme/tiny --yes", "prune --yes"}) {
    auto r = hubload(fmt::format("cache {} --cache-dir {}/nowhere --json", sub, tmp.path().string()));
    EXPECT_EQ(r.exit_code, 4) << sub;
    EXPECT_EQ(json::parse(r.out)["error"]["kind"], "not_found") << sub;
    EXPECT_NE(err().find("nowhere does not exist"), std::string::npos) << sub;
  }
  auto unknown = cache_cmd("rm", "acme/none --yes");
  EXPECT_EQ(unknown.exit_code, 4);
  EXPECT_NE(err().find("'acme/none' is neither a repo nor a revision"), std::string::npos);
  EXPECT_EQ(cache_cmd("verify", "acme/none").exit_code, 4);

  // A dangling link: ls warns and succeeds, verify fails naming it.
  fs::create_symlink("../../blobs/" + std::string(40, '0'), snapshot("main") / "gone.txt");
  auto ls = cache_cmd("ls");
  EXPECT_EQ(ls.exit_code, 0);
  EXPECT_NE(err().find("gone.txt: dangling link"), std::string::npos);
  auto verify = cache_cmd("verify");
  EXPECT_EQ(verify.exit_code, 4);
  EXPECT_NE(verify.out.find("gone.txt"), std::string::npos);
  fs::remove(snapshot("main") / "gone.txt");

  // An unreadable blob (a folder in its place: tests run as root): exit 5, the rest still reported.
  const fs::path config = blob("config.json", "{\"v\":1}");
  fs::remove(config);
  fs::create_directory(config);
  auto unreadable = cache_cmd("verify", "--json");
  EXPECT_EQ(unreadable.exit_code, 5);
  const json doc = json::parse(unreadable.out);
  ASSERT_EQ(doc["unreadable"].size(), 1u);
  EXPECT_EQ(doc["unreadable"][0]["blob"], config.string());
  EXPECT_EQ(doc["blobs"], 4);
  EXPECT_TRUE(doc["mismatches"].empty());
}

TEST_F(CacheCliTest, RmAsksDryRunChangesNothingAndYesDeletes) {
  const std::set<std::string> before = listing();
  auto refused = cache_cmd("rm", hub.commit("acme/tiny", "v1"));
  EXPECT_EQ(refused.exit_code, 3);
  EXPECT_NE(err().find("pass --yes"), std::string::npos);
  EXPECT_NE(refused.out.find("revision " + hub.commit("acme/tiny", "v1")), std::string::npos);  // the plan was shown
  auto dry = cache_cmd("rm", hub.commit("acme/tiny", "v1") + " --dry-run --json");
  ASSERT_EQ(dry.exit_code, 0) << err();
  const json plan = json::parse(dry.out)["plan"];
  EXPECT_EQ(plan["freed"], 7);
  EXPECT_EQ(plan["repos"][0]["refs"], json({"v1"}));
  EXPECT_EQ(plan["repos"][0]["blobs"], json({hub.etag("config.json", "{\"v\":1}")}));
  EXPECT_EQ(cache_cmd("prune", "--dry-run").exit_code, 0);
  EXPECT_EQ(cache_cmd("rm", "acme/tiny --dry-run --yes").exit_code, 0);
  EXPECT_EQ(listing(), before);

  auto rm = cache_cmd("rm", hub.commit("acme/tiny", "v1") + " --yes --json");
  ASSERT_EQ(rm.exit_code, 0) << err();
  EXPECT_EQ(json::parse(rm.out)["deleted"]["freed"], 7);
  EXPECT_FALSE(fs::exists(snapshot("v1")));
  EXPECT_FALSE(fs::exists(cache / "models--acme--tiny" / "refs" / "v1"));
  EXPECT_TRUE(fs::exists(blob("model.safetensors", kWeights)));
  EXPECT_EQ(cache_cmd("verify").exit_code, 0) << err();
  auto repo = cache_cmd("rm", "dataset/acme/ds --yes");
  ASSERT_EQ(repo.exit_code, 0) << err();
  EXPECT_FALSE(fs::exists(cache / "datasets--acme--ds"));
}

TEST_F(CacheCliTest, OnATerminalTheAnswerDecides) {
  if (testing::run_command("command -v script >/dev/null").exit_code != 0) {
    GTEST_SKIP() << "util-linux `script` (a pseudo-terminal for stdin) is not installed";
  }
  // `script` gives the command a terminal and passes our stdin to it.
  auto on_tty = [&](const std::string& answer, const std::string& args) {
    return testing::run_command(fmt::format("printf '{}\\n' | script -qec '{} cache rm --cache-dir {} {}' /dev/null",
                                            answer, testing::cli_path().string(), cache.string(), args));
  };
  const std::string v1 = hub.commit("acme/tiny", "v1");
  auto no = on_tty("n", v1);
  EXPECT_EQ(no.exit_code, 14) << no.out;
  EXPECT_NE(no.out.find("Delete these? [y/N]"), std::string::npos);
  EXPECT_TRUE(fs::exists(snapshot("v1")));
  auto yes = on_tty("y", v1);
  EXPECT_EQ(yes.exit_code, 0) << yes.out;
  EXPECT_FALSE(fs::exists(snapshot("v1")));
}

TEST_F(CacheCliTest, VerifyOnlineComparesWithTheHubListing) {
  const std::string online = fmt::format("--online --endpoint {} --no-token --json", hub.url());
  auto same = cache_cmd("verify", online);
  ASSERT_EQ(same.exit_code, 0) << err();
  json doc = json::parse(same.out);
  ASSERT_EQ(doc["online"].size(), 3u);
  for (const json& d : doc["online"]) {
    EXPECT_TRUE(d["missing"].empty());
    EXPECT_TRUE(d["extra"].empty());
    EXPECT_TRUE(d["changed"].empty());
  }
  // An extra file, a missing one, and one whose blob is not the Hub's.
  fs::create_symlink("../../blobs/" + hub.etag("model.safetensors", kWeights), snapshot("main") / "extra.safetensors");
  fs::remove(snapshot("v1") / "config.json");
  fs::remove(snapshot("main") / "config.json");
  fs::create_symlink("../../blobs/" + hub.etag("config.json", "{\"v\":1}"), snapshot("main") / "config.json");
  auto diff = cache_cmd("verify", "acme/tiny " + online);
  EXPECT_EQ(diff.exit_code, 7);  // a changed file always fails
  doc = json::parse(diff.out);
  ASSERT_EQ(doc["online"].size(), 2u);
  for (const json& d : doc["online"]) {
    if (d["commit"] == hub.commit("acme/tiny", "main")) {
      EXPECT_EQ(d["extra"], json({"extra.safetensors"}));
      ASSERT_EQ(d["changed"].size(), 1u);
      EXPECT_EQ(d["changed"][0]["hub"], hub.etag("config.json", "{\"v\":2}"));
    } else {
      EXPECT_EQ(d["missing"], json({"config.json"}));
    }
  }
  fs::remove(snapshot("main") / "config.json");
  fs::create_symlink("../../blobs/" + hub.etag("config.json", "{\"v\":2}"), snapshot("main") / "config.json");
  EXPECT_EQ(cache_cmd("verify", "acme/tiny " + online).exit_code, 0) << err();
  EXPECT_EQ(cache_cmd("verify", "acme/tiny --fail-on-extra-files " + online).exit_code, 7);
  EXPECT_EQ(cache_cmd("verify", "acme/tiny --revision v1 --fail-on-missing-files " + online).exit_code, 7);
  EXPECT_EQ(cache_cmd("verify", "acme/tiny --revision main --fail-on-missing-files " + online).exit_code, 0);

  // A commit the Hub does not know is not compared; the others still are.
  const fs::path unknown = cache / "models--acme--tiny" / "snapshots" / std::string(40, 'f');
  fs::create_directories(unknown);
  fs::create_symlink("../../blobs/" + hub.etag("model.safetensors", kWeights), unknown / "model.safetensors");
  auto partly = cache_cmd("verify", "acme/tiny " + online);
  EXPECT_EQ(partly.exit_code, 4) << err();
  doc = json::parse(partly.out);
  ASSERT_EQ(doc["online"].size(), 3u);
  int failed = 0;
  for (const json& d : doc["online"]) failed += d["error"] == "" ? 0 : 1;
  EXPECT_EQ(failed, 1);
  EXPECT_NE(err().find(std::string(40, 'f')), std::string::npos);
}

}  // namespace
}  // namespace hubload
