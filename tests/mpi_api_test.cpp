// mpi.h from a host program that initialised MPI itself, on communicators it
// made: two jobs of 2 nodes each in one mpirun, each job's blobs from the Hub once.
#include <filesystem>
#include <sstream>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "mpi_job.h"
#include "support/serve_fixture.h"
#include "support/test_support.h"

namespace hubload {
namespace {

namespace fs = std::filesystem;

TEST(MpiApiTest, TwoJobsOnTheHostsOwnCommunicatorsEachFetchTheModelOnce) {
  testing::TempDir tmp;
  testing::FakeHub hub;
  testing::RepoFiles files = {{"config.json", "{}"},
                              {"model.safetensors", std::string(300'000, 'a') + std::string(200'000, 'b')}};
  hub.model("acme/m").branch("main", files);
  hub.start();
  testing::MpiJobOptions o;
  o.program = HUBLOAD_MPI_API_CHILD_PATH;
  auto r = testing::run_mpi_job(tmp.path(), fmt::format("{} {} acme/m", hub.url(), tmp.path().string()), o);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream lines(r.out);
  std::string line;
  int seen = 0;
  std::uint64_t total = 0;
  for (const auto& [path, content] : files) total += content.size();
  while (std::getline(lines, line)) {
    auto doc = nlohmann::json::parse(line);
    const int rank = doc["rank"];
    ++seen;
    EXPECT_EQ(doc["session_owns_mpi"], false) << "hubload must not initialise MPI a second time";
    ASSERT_EQ(doc["ok"], true) << line;
    EXPECT_EQ(doc["world"], 2);
    EXPECT_EQ(doc["nodes"], 2);
    EXPECT_EQ(doc["hub_bytes"], total);
    const fs::path snapshot = doc["snapshot"].get<std::string>();
    EXPECT_EQ(snapshot, tmp.path() / fmt::format("job{}/node{}", rank / 2, rank % 2) / "models--acme--m/snapshots" /
                            hub.commit("acme/m"));
    for (const auto& [path, content] : files) EXPECT_EQ(testing::read_file(snapshot / path), content) << path;
  }
  EXPECT_EQ(seen, 4);
  EXPECT_EQ(hub.stats().bytes_sent, 2 * total);  // once per job
}

}  // namespace
}  // namespace hubload
