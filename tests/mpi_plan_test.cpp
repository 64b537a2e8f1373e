// Which node sends which blob: the pure plan every leader computes alike.
#include <gtest/gtest.h>

#include "mpi/blob_plan.h"

namespace hubload::mpi_internal {
namespace {

std::vector<Blob> blobs_of(std::vector<std::uint64_t> sizes) {
  std::vector<Blob> blobs;
  for (std::size_t i = 0; i < sizes.size(); ++i) blobs.push_back({"e" + std::to_string(i), sizes[i], {"f"}});
  return blobs;
}

TEST(MpiPlanTest, BlobsNoNodeHasAreFetchedOnceAndTheHubBytesSplitEvenly) {
  const auto blobs = blobs_of({100, 100, 100, 100, 10});
  const auto plan = plan_blob_transfers(blobs, std::vector<std::vector<bool>>(4, std::vector<bool>(5, false)));
  ASSERT_EQ(plan.size(), 5u);
  std::vector<std::uint64_t> hub(4, 0);
  for (const BlobTransfer& t : plan) {
    EXPECT_TRUE(t.from_hub);
    EXPECT_EQ(t.receivers.size(), 3u);  // every other node, never the fetcher itself
    EXPECT_EQ(std::count(t.receivers.begin(), t.receivers.end(), t.source), 0);
    hub[t.source] += blobs[t.blob].size;
  }
  for (std::uint64_t bytes : hub) {
    EXPECT_GE(bytes, 100u);
    EXPECT_LE(bytes, 110u);
  }
}

TEST(MpiPlanTest, ABlobSomeNodeHoldsIsSentFromThereOnlyToTheNodesThatLackIt) {
  // Node 1 holds blobs 0 and 1; node 2 holds blob 1; nobody holds blob 2; all hold 3.
  std::vector<std::vector<bool>> have = {{false, false, false, true}, {true, true, false, true},
                                         {false, true, false, true}};
  const auto plan = plan_blob_transfers(blobs_of({50, 50, 50, 50}), have);
  ASSERT_EQ(plan.size(), 3u);
  EXPECT_EQ(plan[0].blob, 0u);
  EXPECT_FALSE(plan[0].from_hub);
  EXPECT_EQ(plan[0].source, 1);
  EXPECT_EQ(plan[0].receivers, (std::vector<int>{0, 2}));
  EXPECT_EQ(plan[1].blob, 1u);
  EXPECT_FALSE(plan[1].from_hub);
  EXPECT_EQ(plan[1].receivers, (std::vector<int>{0}));
  EXPECT_EQ(plan[2].blob, 2u);
  EXPECT_TRUE(plan[2].from_hub);
  EXPECT_EQ(plan[2].receivers.size(), 2u);
}

TEST(MpiPlanTest, OneNodeFetchesEverythingAndSendsNothing) {
  const auto plan = plan_blob_transfers(blobs_of({1, 2}), {{false, true}});
  ASSERT_EQ(plan.size(), 1u);
  EXPECT_TRUE(plan[0].from_hub);
  EXPECT_EQ(plan[0].source, 0);
  EXPECT_TRUE(plan[0].receivers.empty());
}

}  // namespace
}  // namespace hubload::mpi_internal
