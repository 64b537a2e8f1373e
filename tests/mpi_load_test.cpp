// `mpirun -np 4 hubload load MODEL --tp 2`: two replicas of a TP-2 world, each
// world rank r loading TP rank r % 2, bit for bit as `hubload load --rank`.
#include <filesystem>
#include <random>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "mpi_job.h"
#include "support/safetensors_gen.h"
#include "support/test_support.h"
#include "support/tp_models.h"

namespace hubload {
namespace {

namespace fs = std::filesystem;

// <dir>/single<r>.safetensors: TP rank r of `model` at --tp `tp`, by a plain `hubload load`.
void write_single_process_loads(const testing::TempDir& dir, const fs::path& model, int tp,
                                const std::string& flags = "") {
  for (int tp_rank = 0; tp_rank < tp; ++tp_rank) {
    auto single = testing::run_command(fmt::format("{} load {} --tp {} --rank {} {} --quiet --out {}/single{}.safetensors",
                                                   testing::cli_path().string(), model.string(), tp, tp_rank, flags,
                                                   dir.path().string(), tp_rank));
    ASSERT_EQ(single.exit_code, 0) << single.out;
  }
}
void write_single_process_loads(const testing::TempDir& dir) { write_single_process_loads(dir, dir / "m", 2); }

// A tiny llama in two shards with an index, as Hub checkpoints come.
std::uint64_t write_two_shard_model(const fs::path& dir) {
  const testing::TinyDims dims;
  std::vector<TensorSpec> specs = testing::tiny_specs(testing::tiny_config("llama", dims), dims);
  for (TensorSpec& spec : specs) spec.dtype = DType::BF16;
  const std::size_t half = specs.size() / 2;
  std::mt19937_64 rng(13);
  auto model = testing::write_sharded_model(
      dir, {std::vector<TensorSpec>(specs.begin(), specs.begin() + half), std::vector<TensorSpec>(specs.begin() + half, specs.end())},
      rng);
  testing::write_file(dir / "config.json", testing::tiny_config_json("llama", dims));
  std::uint64_t bytes = 0;
  for (const auto& shard : model.shards) bytes += fs::file_size(shard.path);
  return bytes;
}

// Each rank's --json output, written by the job to <dir>/json<rank>.
nlohmann::json rank_json(const testing::TempDir& dir, int rank) {
  return nlohmann::json::parse(testing::read_file(dir / fmt::format("json{}", rank)));
}

TEST(MpiLoadTest, EveryWorldRankLoadsItsTensorParallelRankBitForBit) {
  testing::TempDir dir;
  testing::write_tiny_model(dir / "m", "llama", {}, DType::BF16);
  auto r = testing::run_mpi_job(dir.path(), fmt::format("load {} --tp 2 --quiet --out {}/world{{rank}}.safetensors",
                                                        (dir / "m").string(), dir.path().string()));
  for (int rank = 0; rank < 4; ++rank) ASSERT_EQ(r.rank_codes[rank], 0) << "rank " << rank << "\n" << r.err;
  EXPECT_NE(r.out.find("rank 1/2: read"), std::string::npos) << r.out;
  write_single_process_loads(dir);
  for (int rank = 0; rank < 4; ++rank) {
    const std::string mine = testing::read_file(dir / fmt::format("world{}.safetensors", rank));
    EXPECT_EQ(mine, testing::read_file(dir / fmt::format("single{}.safetensors", rank % 2))) << "world rank " << rank;
  }
}

TEST(MpiLoadTest, ScatteredLoadsEqualSingleProcessLoadsAndEachNodeReadsTheFilesOnce) {
  testing::TempDir dir;
  testing::write_tiny_model(dir / "m", "llama", {}, DType::BF16);
  const std::uint64_t file_bytes = fs::file_size(dir / "m/model.safetensors");
  // Each rank's JSON to a file of its own (the rank's shell expands the name).
  auto r = testing::run_mpi_job(
      dir.path(), fmt::format("load {} --tp 2 --scatter --json --out {}/world{{rank}}.safetensors > {}/json$OMPI_COMM_WORLD_RANK",
                              (dir / "m").string(), dir.path().string(), dir.path().string()));
  for (int rank = 0; rank < 4; ++rank) ASSERT_EQ(r.rank_codes[rank], 0) << "rank " << rank << "\n" << r.err;
  write_single_process_loads(dir);
  for (int rank = 0; rank < 4; ++rank) {
    EXPECT_EQ(testing::read_file(dir / fmt::format("world{}.safetensors", rank)),
              testing::read_file(dir / fmt::format("single{}.safetensors", rank % 2)))
        << "world rank " << rank;
    auto doc = nlohmann::json::parse(testing::read_file(dir / fmt::format("json{}", rank)));
    EXPECT_EQ(doc["rank"], rank % 2);
    // Node n = ranks 2n and 2n+1: its leader reads the file once, whole; the other rank reads nothing.
    EXPECT_EQ(doc["bytes_read"], rank % 2 == 0 ? file_bytes : 0u) << "world rank " << rank;
  }
}

// The model only on node 0 (the folder <dir>/node<n>-model exists for n = 0):
// node 1's ranks get their runs by message from node 0's, and open no file.
TEST(MpiLoadTest, ScatteredLoadsReachANodeWithoutTheModelByMessage) {
  testing::TempDir dir;
  testing::write_tiny_model(dir / "node0-model", "llama", {}, DType::BF16);
  const std::uint64_t file_bytes = fs::file_size(dir / "node0-model/model.safetensors");
  auto r = testing::run_mpi_job(
      dir.path(), fmt::format("load {}/node$n-model --tp 2 --scatter --json --out {}/world{{rank}}.safetensors > "
                              "{}/json$OMPI_COMM_WORLD_RANK",
                              dir.path().string(), dir.path().string(), dir.path().string()));
  for (int rank = 0; rank < 4; ++rank) ASSERT_EQ(r.rank_codes[rank], 0) << "rank " << rank << "\n" << r.err;
  write_single_process_loads(dir, dir / "node0-model", 2);
  for (int rank = 0; rank < 4; ++rank) {
    EXPECT_EQ(testing::read_file(dir / fmt::format("world{}.safetensors", rank)),
              testing::read_file(dir / fmt::format("single{}.safetensors", rank % 2)))
        << "world rank " << rank;
    const nlohmann::json doc = rank_json(dir, rank);
    EXPECT_EQ(doc["rank"], rank % 2);
    // Node 0's leader reads the file once, whole; nobody else reads a byte.
    EXPECT_EQ(doc["bytes_read"], rank == 0 ? file_bytes : 0u) << "world rank " << rank;
  }
}

TEST(MpiLoadTest, ScatteredLoadsConvertDtypesAsASingleProcessLoadDoes) {
  testing::TempDir dir;
  testing::write_tiny_model(dir / "node0-model", "llama", {}, DType::BF16);
  auto r = testing::run_mpi_job(dir.path(),
                                fmt::format("load {}/node$n-model --tp 2 --scatter --dtype f32 --quiet --out "
                                            "{}/world{{rank}}.safetensors",
                                            dir.path().string(), dir.path().string()));
  for (int rank = 0; rank < 4; ++rank) ASSERT_EQ(r.rank_codes[rank], 0) << "rank " << rank << "\n" << r.err;
  write_single_process_loads(dir, dir / "node0-model", 2, "--dtype f32");
  for (int rank = 0; rank < 4; ++rank) {
    const std::string mine = testing::read_file(dir / fmt::format("world{}.safetensors", rank));
    EXPECT_NE(mine.find("\"F32\""), std::string::npos);
    EXPECT_EQ(mine, testing::read_file(dir / fmt::format("single{}.safetensors", rank % 2))) << "world rank " << rank;
  }
}

// A TP-4 world over 2 nodes, a checkpoint of two shards only on node 0: every
// rank its own TP rank, node 0's leader reading each shard once. Messages of
// 1000 bytes cut the streams within runs, many messages in flight.
TEST(MpiLoadTest, ATensorParallelWorldAcrossNodesLoadsFromTheOneNodeWithTheShards) {
  testing::TempDir dir;
  const std::uint64_t shard_bytes = write_two_shard_model(dir / "node0-model");
  testing::MpiJobOptions small_messages;
  small_messages.env = "HUBLOAD_MPI_CHUNK_SIZE=1000";
  auto r = testing::run_mpi_job(
      dir.path(),
      fmt::format("load {}/node$n-model --tp 4 --scatter --json --out {}/world{{rank}}.safetensors > "
                  "{}/json$OMPI_COMM_WORLD_RANK",
                  dir.path().string(), dir.path().string(), dir.path().string()),
      small_messages);
  for (int rank = 0; rank < 4; ++rank) ASSERT_EQ(r.rank_codes[rank], 0) << "rank " << rank << "\n" << r.err;
  write_single_process_loads(dir, dir / "node0-model", 4);
  for (int rank = 0; rank < 4; ++rank) {
    EXPECT_EQ(testing::read_file(dir / fmt::format("world{}.safetensors", rank)),
              testing::read_file(dir / fmt::format("single{}.safetensors", rank)))
        << "world rank " << rank;
    const nlohmann::json doc = rank_json(dir, rank);
    EXPECT_EQ(doc["rank"], rank);
    EXPECT_EQ(doc["bytes_read"], rank == 0 ? shard_bytes : 0u) << "world rank " << rank;
  }
}

// 3 nodes × 2 ranks, node 0 without the model: the plan comes from node 1, and
// node 0's two ranks are served one by node 1 and one by node 2.
TEST(MpiLoadTest, NodesWithTheModelShareTheSendingToANodeWithout) {
  testing::TempDir dir;
  testing::write_tiny_model(dir / "node1-model", "llama", {}, DType::BF16);
  fs::copy(dir / "node1-model", dir / "node2-model");
  const std::uint64_t file_bytes = fs::file_size(dir / "node1-model/model.safetensors");
  testing::MpiJobOptions three_nodes;
  three_nodes.ranks = 6;
  auto r = testing::run_mpi_job(
      dir.path(),
      fmt::format("load {}/node$n-model --tp 2 --scatter --json --out {}/world{{rank}}.safetensors > "
                  "{}/json$OMPI_COMM_WORLD_RANK",
                  dir.path().string(), dir.path().string(), dir.path().string()),
      three_nodes);
  for (int rank = 0; rank < 6; ++rank) ASSERT_EQ(r.rank_codes[rank], 0) << "rank " << rank << "\n" << r.err;
  write_single_process_loads(dir, dir / "node1-model", 2);
  for (int rank = 0; rank < 6; ++rank) {
    EXPECT_EQ(testing::read_file(dir / fmt::format("world{}.safetensors", rank)),
              testing::read_file(dir / fmt::format("single{}.safetensors", rank % 2)))
        << "world rank " << rank;
    EXPECT_EQ(rank_json(dir, rank)["bytes_read"], rank == 2 || rank == 4 ? file_bytes : 0u) << "world rank " << rank;
  }
}

TEST(MpiLoadTest, AScatteredLoadWithNoNodeHoldingTheModelIsTheSameErrorOnEveryRank) {
  testing::TempDir dir;
  auto r = testing::run_mpi_job(dir.path(), fmt::format("load {}/node$n-model --tp 2 --scatter --quiet",
                                                        dir.path().string()));
  for (int rank = 0; rank < 4; ++rank) {
    EXPECT_EQ(r.rank_codes[rank], r.rank_codes[0]) << "rank " << rank << "\n" << r.err;
    EXPECT_NE(r.rank_codes[rank], 0) << "rank " << rank;
  }
  EXPECT_NE(r.err.find("no node of the job has the checkpoint"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("node0-model"), std::string::npos) << r.err;
}

TEST(MpiLoadTest, AWorldThatIsNotAMultipleOfTheTensorParallelSizeIsTheSameErrorOnEveryRank) {
  testing::TempDir dir;
  testing::write_tiny_model(dir / "m", "llama", {}, DType::BF16);
  testing::MpiJobOptions three;
  three.ranks = 3;
  auto r = testing::run_mpi_job(dir.path(), fmt::format("load {} --tp 2 --quiet", (dir / "m").string()), three);
  for (int rank = 0; rank < 3; ++rank) EXPECT_EQ(r.rank_codes[rank], 3) << "rank " << rank << "\n" << r.err;
  EXPECT_NE(r.err.find("must be a multiple of --tp"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace hubload
