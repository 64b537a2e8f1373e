// `mpirun -np 4 hubload load MODEL --tp 2`: two replicas of a TP-2 world, each
// world rank r loading TP rank r % 2, bit for bit as `hubload load --rank`.
#include <filesystem>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "mpi_job.h"
#include "support/test_support.h"
#include "support/tp_models.h"

namespace hubload {
namespace {

namespace fs = std::filesystem;

TEST(MpiLoadTest, EveryWorldRankLoadsItsTensorParallelRankBitForBit) {
  testing::TempDir dir;
  testing::write_tiny_model(dir / "m", "llama", {}, DType::BF16);
  auto r = testing::run_mpi_job(dir.path(), fmt::format("load {} --tp 2 --quiet --out {}/world{{rank}}.safetensors",
                                                        (dir / "m").string(), dir.path().string()));
  for (int rank = 0; rank < 4; ++rank) ASSERT_EQ(r.rank_codes[rank], 0) << "rank " << rank << "\n" << r.err;
  EXPECT_NE(r.out.find("rank 1/2: read"), std::string::npos) << r.out;
  for (int tp_rank = 0; tp_rank < 2; ++tp_rank) {
    auto single = testing::run_command(fmt::format("{} load {} --tp 2 --rank {} --quiet --out {}/single{}.safetensors",
                                                   testing::cli_path().string(), (dir / "m").string(), tp_rank,
                                                   dir.path().string(), tp_rank));
    ASSERT_EQ(single.exit_code, 0);
  }
  for (int rank = 0; rank < 4; ++rank) {
    const std::string mine = testing::read_file(dir / fmt::format("world{}.safetensors", rank));
    EXPECT_EQ(mine, testing::read_file(dir / fmt::format("single{}.safetensors", rank % 2))) << "world rank " << rank;
  }
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
