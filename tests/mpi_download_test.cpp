// `mpirun -np 4 hubload download` as 2 nodes × 2 ranks against a FakeHub on
// 127.0.0.1: the Hub serves each blob once per job, both node caches end up
// complete and alike, errors reach every rank with one exit code.
#include <sys/stat.h>

#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "mpi_job.h"
#include "support/serve_fixture.h"
#include "support/test_support.h"

namespace hubload {
namespace {

namespace fs = std::filesystem;

// Bytes that differ per shard, so that every shard is its own blob.
std::string shard_bytes(int shard, std::size_t size) {
  std::string s(size, '\0');
  for (std::size_t i = 0; i < size; ++i) s[i] = static_cast<char>((i * 131 + shard * 17 + i / 7) & 0xff);
  return s;
}

std::string shard_name(int i) { return fmt::format("model-0000{}-of-00004.safetensors", i); }

// Every file under a cache, as "relative path -> content" (a link as "-> target").
std::map<std::string, std::string> cache_image(const fs::path& root) {
  std::map<std::string, std::string> image;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    const std::string rel = fs::relative(e.path(), root).string();
    if (rel.starts_with(".locks")) continue;
    if (e.is_symlink()) image[rel] = "-> " + fs::read_symlink(e.path()).string();
    else if (e.is_regular_file()) image[rel] = testing::read_file(e.path());
  }
  return image;
}

class MpiDownloadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    nlohmann::json index = {{"metadata", nlohmann::json::object()}, {"weight_map", nlohmann::json::object()}};
    files["config.json"] = R"({"model_type": "llama"})";
    for (int i = 1; i <= 4; ++i) {
      files[shard_name(i)] = shard_bytes(i, 150'000 + 1000 * i);
      index["weight_map"][fmt::format("w{}", i)] = shard_name(i);
    }
    files["model.safetensors.index.json"] = index.dump();
    hub.model("acme/m").branch("main", files);
    hub.model("acme/gated").branch("main", files).gated("hf_right");
    hub.start();
  }

  std::uint64_t total_bytes() const {
    std::uint64_t total = 0;
    for (const auto& [path, content] : files) total += content.size();
    return total;
  }
  fs::path node_cache(int node) const { return tmp.path() / fmt::format("node{}", node); }
  fs::path snapshot(int node) const {
    return node_cache(node) / "models--acme--m/snapshots" / hub.commit("acme/m");
  }
  // Chunks of 16 KiB between nodes: ~10 per shard, so that a shard's first
  // chunks go out while the rest still downloads.
  static testing::MpiJobOptions small_chunks() {
    testing::MpiJobOptions o;
    o.env = "HUBLOAD_MPI_CHUNK_SIZE=16384";
    return o;
  }
  // Node 0 holds shard 2 (a plain download); node 1 holds `bytes` as the
  // partial of it that a job which stopped short while node 1 received it left.
  fs::path seed_received_partial(const std::string& bytes) {
    auto pre = testing::run_command(fmt::format(
        "env -u HF_TOKEN -u HF_HUB_OFFLINE {} download acme/m --endpoint {} --cache-dir {} --include {}",
        testing::cli_path().string(), hub.url(), node_cache(0).string(), shard_name(2)));
    EXPECT_EQ(pre.exit_code, 0) << pre.out;
    const fs::path blobs = node_cache(1) / "models--acme--m/blobs";
    fs::create_directories(blobs);
    const fs::path partial = blobs / (hub.etag(shard_name(2), files[shard_name(2)]) + ".fabric.incomplete");
    testing::write_file(partial, bytes);
    return partial;
  }
  testing::MpiJobResult job(const std::string& args, const testing::MpiJobOptions& o = {}) const {
    return testing::run_mpi_job(tmp.path(), fmt::format("download --endpoint {} {}", hub.url(), args), o);
  }
  void expect_every_rank(const testing::MpiJobResult& r, int code) const {
    for (std::size_t rank = 0; rank < r.rank_codes.size(); ++rank) {
      EXPECT_EQ(r.rank_codes[rank], code) << "rank " << rank << "\n" << r.err;
    }
  }
  void expect_complete(int node) const {
    for (const auto& [path, content] : files) {
      ASSERT_TRUE(fs::exists(snapshot(node) / path)) << path << " on node " << node;
      EXPECT_EQ(testing::read_file(snapshot(node) / path), content) << path << " on node " << node;
    }
  }

  testing::TempDir tmp;
  testing::FakeHub hub;
  testing::RepoFiles files;
};

TEST_F(MpiDownloadTest, TheHubServesEveryBlobOnceAndBothNodeCachesAreCompleteAndAlike) {
  auto r = job("acme/m --json");
  expect_every_rank(r, 0);
  // Only rank 0 prints: one JSON document, naming node 0's snapshot.
  auto doc = nlohmann::json::parse(r.out);
  EXPECT_EQ(doc["path"], snapshot(0).string());
  EXPECT_EQ(doc["commit"], hub.commit("acme/m"));
  EXPECT_EQ(doc["distributed"]["nodes"], 2);
  EXPECT_EQ(doc["distributed"]["hub_bytes"], total_bytes());
  EXPECT_EQ(doc["distributed"]["fabric_bytes"], total_bytes());  // each blob to the one node that lacked it
  EXPECT_EQ(hub.stats().bytes_sent, total_bytes());
  EXPECT_EQ(hub.stats().count_matching("GET", "/api/models/acme/m"), 1u);  // one listing, by rank 0
  expect_complete(0);
  expect_complete(1);
  EXPECT_EQ(cache_image(node_cache(0)), cache_image(node_cache(1)));

  // The same layout, byte for byte, as a single-process download (Python's cache rules).
  auto single = testing::run_command(fmt::format("env -u HF_TOKEN -u HF_HUB_OFFLINE {} download acme/m --endpoint {} "
                                                 "--cache-dir {}/single",
                                                 testing::cli_path().string(), hub.url(), tmp.path().string()));
  ASSERT_EQ(single.exit_code, 0);
  EXPECT_EQ(cache_image(node_cache(0)), cache_image(tmp.path() / "single"));
  auto verify = testing::run_command(fmt::format("{} cache verify --cache-dir {}", testing::cli_path().string(),
                                                 node_cache(1).string()));
  EXPECT_EQ(verify.exit_code, 0) << verify.out;
}

TEST_F(MpiDownloadTest, ANodeFetchesItsShareInOneEngineCallFromTheListingAndTheHubServesTheModelExactlyOnce) {
  // One node of two ranks: its leader fetches every blob, several at once over
  // one connection budget, as a plain download does. The listing gave each
  // blob's size and hash, so no blob costs a metadata request of its own (a
  // share fetched file by file made one HEAD and one engine call per blob, and
  // each call's tail was split and stopped: bytes served twice).
  hubload::FaultOptions slow;
  slow.limit_rate = 400'000;  // bytes per second per response: the shards overlap in time
  hub.set_faults(slow);
  testing::MpiJobOptions one_node;
  one_node.ranks = 2;
  one_node.ranks_per_node = 2;
  auto r = job("acme/m --json --connections 4 --max-connections 8", one_node);
  expect_every_rank(r, 0);
  auto doc = nlohmann::json::parse(r.out)["distributed"];
  EXPECT_EQ(doc["nodes"], 1);
  EXPECT_EQ(doc["hub_bytes"], total_bytes());
  EXPECT_EQ(doc["fabric_bytes"], 0u);
  EXPECT_EQ(hub.stats().bytes_sent, total_bytes());
  const std::string resolve = "/acme/m/resolve/" + hub.commit("acme/m") + "/";
  for (int i = 1; i <= 4; ++i) {
    EXPECT_EQ(hub.stats().count("HEAD", resolve + shard_name(i)), 0u) << shard_name(i);
    EXPECT_GE(hub.stats().count("GET", resolve + shard_name(i)), 1u) << shard_name(i);
  }
  expect_complete(0);
  auto verify = testing::run_command(fmt::format("{} cache verify --cache-dir {}", testing::cli_path().string(),
                                                 node_cache(0).string()));
  EXPECT_EQ(verify.exit_code, 0) << verify.out;
}

TEST_F(MpiDownloadTest, ProgressShowsTheWholeJobsHubAndFabricBytes) {
  auto r = job("acme/m --progress json");
  expect_every_rank(r, 0);
  std::istringstream lines(r.err);
  std::string line;
  std::optional<nlohmann::json> last;
  while (std::getline(lines, line)) {
    if (line.starts_with("{\"job\"")) last = nlohmann::json::parse(line)["job"];
  }
  ASSERT_TRUE(last) << r.err;
  // The index is rank 0's own (read before the plan); every other blob is in the job's totals.
  const std::uint64_t planned = total_bytes() - files["model.safetensors.index.json"].size();
  EXPECT_EQ((*last)["hub_total"], planned);
  EXPECT_EQ((*last)["hub_bytes"], planned);
  EXPECT_EQ((*last)["fabric_total"], total_bytes());
  EXPECT_EQ((*last)["fabric_bytes"], total_bytes());
}

TEST_F(MpiDownloadTest, APartialCacheReceivesOnlyTheBlobsItLacksAndTheHubOnlyWhatNoNodeHas) {
  // Node 1 already holds shards 1 and 2 (a plain download).
  auto pre = testing::run_command(fmt::format(
      "env -u HF_TOKEN -u HF_HUB_OFFLINE {} download acme/m --endpoint {} --cache-dir {} --include {} --include {}",
      testing::cli_path().string(), hub.url(), node_cache(1).string(), shard_name(1), shard_name(2)));
  ASSERT_EQ(pre.exit_code, 0);
  const std::uint64_t held = files[shard_name(1)].size() + files[shard_name(2)].size();
  const std::uint64_t served_before = hub.stats().bytes_sent;
  ASSERT_EQ(served_before, held);
  std::map<std::string, ino_t> inodes;
  for (const auto& e : fs::directory_iterator(node_cache(1) / "models--acme--m/blobs")) {
    struct stat st {};
    ASSERT_EQ(::stat(e.path().c_str(), &st), 0);
    inodes[e.path().filename().string()] = st.st_ino;
  }
  ASSERT_EQ(inodes.size(), 2u);

  auto r = job("acme/m --json");
  expect_every_rank(r, 0);
  auto doc = nlohmann::json::parse(r.out);
  EXPECT_EQ(hub.stats().bytes_sent - served_before, total_bytes() - held);
  EXPECT_EQ(doc["distributed"]["hub_bytes"], total_bytes() - held);
  // Held shards go to node 0 only; the others cross once each.
  EXPECT_EQ(doc["distributed"]["fabric_bytes"], total_bytes());
  for (const auto& [name, inode] : inodes) {
    struct stat st {};
    ASSERT_EQ(::stat((node_cache(1) / "models--acme--m/blobs" / name).c_str(), &st), 0);
    EXPECT_EQ(st.st_ino, inode) << name << " was rewritten";
  }
  expect_complete(0);
  expect_complete(1);
}

TEST_F(MpiDownloadTest, ANodeThatHoldsEverythingSeedsTheOtherAndTheHubServesOnlyTheIndexRankZeroReads) {
  auto pre = testing::run_command(fmt::format("env -u HF_TOKEN -u HF_HUB_OFFLINE {} download acme/m --endpoint {} --cache-dir {}",
                                              testing::cli_path().string(), hub.url(), node_cache(1).string()));
  ASSERT_EQ(pre.exit_code, 0);
  const std::uint64_t served_before = hub.stats().bytes_sent;
  // 5 blobs from one sender (node 0 has the index rank 0 read): more than it sends at once.
  auto r = job("acme/m --json");
  expect_every_rank(r, 0);
  EXPECT_EQ(hub.stats().bytes_sent - served_before, files["model.safetensors.index.json"].size());
  EXPECT_EQ(nlohmann::json::parse(r.out)["distributed"]["fabric_bytes"],
            total_bytes() - files["model.safetensors.index.json"].size());
  expect_complete(0);
  EXPECT_EQ(cache_image(node_cache(0)), cache_image(node_cache(1)));
}

TEST_F(MpiDownloadTest, AMissingRepoAGatedRepoAndACorruptByteGiveEveryRankTheSameExitCode) {
  auto missing = job("acme/none");
  expect_every_rank(missing, 4);
  EXPECT_NE(missing.err.find("rank 0 on host"), std::string::npos) << missing.err;
  EXPECT_TRUE(missing.out.empty());

  auto gated = job("acme/gated --token hf_wrong");
  expect_every_rank(gated, 9);

  hubload::FaultOptions faults;
  faults.rules.push_back(*hubload::parse_fault_rule(fmt::format("corrupt:1000,path=*{}", shard_name(3))));
  hub.set_faults(faults);
  // The shard's first chunks go out before its hash fails.
  auto corrupt = job("acme/m", small_chunks());
  expect_every_rank(corrupt, 7);
  EXPECT_NE(corrupt.err.find("integrity"), std::string::npos) << corrupt.err;
  EXPECT_NE(corrupt.err.find(" on host "), std::string::npos) << corrupt.err;
  // No partial blob was published: what a node has verified is all it has.
  for (int node = 0; node < 2; ++node) {
    for (const auto& e : fs::directory_iterator(node_cache(node) / "models--acme--m/blobs")) {
      EXPECT_EQ(e.path().filename().string().find(".incomplete"), std::string::npos) << e.path();
    }
  }
}

TEST_F(MpiDownloadTest, ABlobTravelsToTheOtherNodeWhileItsHubDownloadStillRuns) {
  hubload::FaultOptions slow;
  slow.limit_rate = 200'000;  // bytes per second per response: each shard takes ~0.75 s
  hub.set_faults(slow);
  auto r = job("acme/m --json", small_chunks());
  expect_every_rank(r, 0);
  auto doc = nlohmann::json::parse(r.out)["distributed"];
  EXPECT_EQ(doc["hub_bytes"], total_bytes());
  EXPECT_EQ(doc["fabric_bytes"], total_bytes());
  EXPECT_EQ(hub.stats().bytes_sent, total_bytes());
  // Most of each shard crossed before its sender's download had finished
  // (and so before the sender had verified it): the pipeline runs within a file.
  std::uint64_t shards = 0;
  for (int i = 1; i <= 4; ++i) shards += files[shard_name(i)].size();
  EXPECT_GE(doc["streamed_bytes"].get<std::uint64_t>(), shards / 2) << doc.dump();
  EXPECT_LE(doc["streamed_bytes"].get<std::uint64_t>(), total_bytes());
  expect_complete(0);
  expect_complete(1);
  EXPECT_EQ(cache_image(node_cache(0)), cache_image(node_cache(1)));
}

TEST_F(MpiDownloadTest, ADownloadThatBeginsAgainAfterACorruptByteIsSentAgainAndBothNodesVerifyIt) {
  // The first response for shard 3 is corrupt: its fetching node's engine
  // begins it again from scratch, as a single-node download does, after having
  // sent some of the bad bytes on; the receiver starts over with it.
  hubload::FaultOptions faults;
  faults.limit_rate = 400'000;
  faults.rules.push_back(*hubload::parse_fault_rule(fmt::format("corrupt:1000,first=1,path=*{}", shard_name(3))));
  hub.set_faults(faults);
  auto r = job("acme/m --json", small_chunks());
  expect_every_rank(r, 0);
  auto doc = nlohmann::json::parse(r.out)["distributed"];
  const std::uint64_t shard = files[shard_name(3)].size();
  EXPECT_EQ(hub.stats().bytes_sent, total_bytes() + shard);  // the shard twice, as on one node
  EXPECT_GT(doc["fabric_bytes"].get<std::uint64_t>(), total_bytes());  // and the cut-short round
  EXPECT_LE(doc["fabric_bytes"].get<std::uint64_t>(), total_bytes() + shard);
  expect_complete(0);
  expect_complete(1);
  EXPECT_EQ(cache_image(node_cache(0)), cache_image(node_cache(1)));
}

TEST_F(MpiDownloadTest, AReceiverResumesThePartialAnEarlierRunLeftAndOnlyTheRestCrossesTheFabric) {
  const std::string& shard = files[shard_name(2)];
  seed_received_partial(shard.substr(0, 40'000));
  const std::uint64_t served_before = hub.stats().bytes_sent;

  auto r = job("acme/m --json", small_chunks());
  expect_every_rank(r, 0);
  auto doc = nlohmann::json::parse(r.out)["distributed"];
  // Its two whole chunks are kept (hashed again); the rest of shard 2 crosses.
  EXPECT_EQ(doc["fabric_resumed"], 2 * 16384);
  EXPECT_EQ(doc["fabric_bytes"], total_bytes() - 2 * 16384);
  EXPECT_EQ(hub.stats().bytes_sent - served_before, total_bytes() - shard.size());
  expect_complete(0);
  expect_complete(1);
  EXPECT_EQ(cache_image(node_cache(0)), cache_image(node_cache(1)));
}

TEST_F(MpiDownloadTest, AResumedPartialWithWrongBytesFailsItsHashCheckAndIsDeletedSoTheRerunCompletes) {
  const std::string& shard = files[shard_name(2)];
  const fs::path partial = seed_received_partial(std::string(40'000, 'x'));
  const fs::path blobs = partial.parent_path();
  auto bad = job("acme/m", small_chunks());
  expect_every_rank(bad, 7);
  EXPECT_NE(bad.err.find("hash to"), std::string::npos) << bad.err;
  EXPECT_FALSE(fs::exists(partial));
  EXPECT_FALSE(fs::exists(blobs / hub.etag(shard_name(2), shard)));

  auto rerun = job("acme/m", small_chunks());
  expect_every_rank(rerun, 0);
  expect_complete(1);
}

TEST_F(MpiDownloadTest, RanksStartedWithOtherArgumentsGetTheSameUsageErrorAndFetchNothing) {
  // The ranks' shell expands this: node 0 asks for shard 1, node 1 for shard 2.
  auto r = job("acme/m --include model-0000$((OMPI_COMM_WORLD_RANK/2+1))-of-00004.safetensors");
  expect_every_rank(r, 3);
  EXPECT_NE(r.err.find("started with other arguments than rank 0"), std::string::npos) << r.err;
  EXPECT_EQ(hub.stats().bytes_sent, 0u);
}

TEST_F(MpiDownloadTest, OfflineNoRankOpensAConnection) {
  testing::MpiJobOptions offline_env;
  offline_env.env = "HF_HUB_OFFLINE=1";
  auto empty = job("acme/m", offline_env);
  expect_every_rank(empty, 10);
  EXPECT_TRUE(hub.stats().requests.empty());

  auto online = job("acme/m");
  expect_every_rank(online, 0);
  auto request_count = [this] {
    std::uint64_t n = 0;
    for (const auto& entry : hub.stats().requests) n += entry.second;
    return n;
  };
  const std::uint64_t requests = request_count();
  auto offline = job("acme/m --local-files-only");
  expect_every_rank(offline, 0);
  EXPECT_EQ(offline.out, snapshot(0).string() + "\n");
  EXPECT_EQ(request_count(), requests);
}

TEST_F(MpiDownloadTest, AJobWhoseRankIsKilledFailsAndItsRerunFetchesOnlyWhatWasNotVerified) {
  hubload::FaultOptions slow;
  slow.limit_rate = 100'000;  // bytes per second per response: each shard takes ~1.5 s
  hub.set_faults(slow);
  testing::MpiJobOptions kill = small_chunks();
  kill.kill_rank = 2;  // node 1's leader, while it receives and fetches
  kill.kill_after_s = 1.0;
  auto killed = job("acme/m", kill);
  EXPECT_NE(killed.exit_code, 0);
  hub.set_faults({});
  // Whatever a node verified and published stays; the rerun asks the Hub for the rest only.
  std::uint64_t published = 0;
  std::uint64_t received_chunks = 0;  // whole chunks of the partials receivers left
  std::set<std::string> have;
  for (int node = 0; node < 2; ++node) {
    const fs::path blobs = node_cache(node) / "models--acme--m/blobs";
    if (!fs::exists(blobs)) continue;
    for (const auto& e : fs::directory_iterator(blobs)) {
      const std::string name = e.path().filename().string();
      if (name.find('.') == std::string::npos && have.insert(name).second) published += fs::file_size(e.path());
      if (name.ends_with(".fabric.incomplete")) received_chunks += fs::file_size(e.path()) / 16384 * 16384;
    }
  }
  // The server may still be writing to the killed job's sockets: count from
  // when it has stopped (bounded).
  ServeStats before = hub.stats();
  for (int i = 0; i < 50; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    ServeStats now = hub.stats();
    if (now.bytes_sent == before.bytes_sent) break;
    before = std::move(now);
  }
  auto rerun = job("acme/m --json", small_chunks());
  expect_every_rank(rerun, 0);
  const ServeStats after = hub.stats();
  // What a receiver kept crosses no more (unless its node now fetches that blob itself).
  EXPECT_LE(nlohmann::json::parse(rerun.out)["distributed"]["fabric_resumed"].get<std::uint64_t>(), received_chunks);
  // No published blob is asked for again, and the rest is fetched at most once
  // (a resumed partial costs less).
  for (const auto& [path, content] : files) {
    const std::string get = "/acme/m/resolve/" + hub.commit("acme/m") + "/" + path;
    if (have.count(hub.etag(path, content))) {
      EXPECT_EQ(after.count("GET", get), before.count("GET", get)) << path;
    }
  }
  EXPECT_LE(after.bytes_sent - before.bytes_sent, total_bytes() - published);

  expect_complete(0);
  expect_complete(1);
  for (int node = 0; node < 2; ++node) {
    for (const auto& e : fs::directory_iterator(node_cache(node) / "models--acme--m/blobs")) {
      EXPECT_FALSE(e.path().string().ends_with(".fabric.incomplete")) << e.path();
    }
  }
}

}  // namespace
}  // namespace hubload
