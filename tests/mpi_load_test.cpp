// `mpirun -np 4 hubload load MODEL --tp 2`: two replicas of a TP-2 world, each
// world rank r loading TP rank r % 2, bit for bit as `hubload load --rank`.
#include <filesystem>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "mpi_job.h"
#include "support/test_support.h"
#include "support/tp_models.h"

namespace hubload {
namespace {

namespace fs = std::filesystem;

// <dir>/single<r>.safetensors: TP rank r of <dir>/m at --tp 2, by a plain `hubload load`.
void write_single_process_loads(const testing::TempDir& dir) {
  for (int tp_rank = 0; tp_rank < 2; ++tp_rank) {
    auto single = testing::run_command(fmt::format("{} load {} --tp 2 --rank {} --quiet --out {}/single{}.safetensors",
                                                   testing::cli_path().string(), (dir / "m").string(), tp_rank,
                                                   dir.path().string(), tp_rank));
    ASSERT_EQ(single.exit_code, 0);
  }
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
  auto convert = testing::run_mpi_job(dir.path(), fmt::format("load {} --tp 2 --scatter --dtype f32 --quiet",
                                                              (dir / "m").string()));
  for (int rank = 0; rank < 4; ++rank) EXPECT_EQ(convert.rank_codes[rank], 12) << convert.err;
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
