// Several download_files() calls running at once (as the Hub's per-file workers
// do) share one ConnectionBudget: the origin never sees more requests in flight
// than the budget has slots, and every file still completes.
#include <gtest/gtest.h>

#include <memory>
#include <thread>
#include <vector>

#include "hubload/transfer.h"
#include "support/test_support.h"
#include "support/transfer_data.h"
#include "support/transfer_origin.h"

namespace hubload {
namespace {

class TransferBudget : public ::testing::Test {
 protected:
  // `count` files of 1 MiB, each fetched by its own thread and its own
  // download_files() call with `per_call` connections, all sharing `budget`.
  void fetch_concurrently(int count, int per_call, const std::shared_ptr<ConnectionBudget>& budget) {
    std::vector<std::string> contents;
    std::vector<TransferFile> files;
    for (int i = 0; i < count; ++i) {
      contents.push_back(testing::random_bytes(1 << 20, 100 + i));
      std::string path = "/file" + std::to_string(i);
      origin_.add_file(path, contents.back());
      files.push_back(testing::transfer_file(origin_.url(path), (dir_ / ("file" + std::to_string(i))).string(),
                                             contents.back()));
    }
    // Slow enough per connection that the calls overlap for a while.
    origin_.set_faults({.bytes_per_second = 4u << 20});
    TransferOptions o;
    o.connections = per_call;
    o.chunk_size = 128 << 10;  // many requests per file: slots are taken and given back often
    // min_split = chunk_size: no range is ever split, so no response is given up
    // mid-body. (An abandoned body still counts at the origin until its next
    // send fails, after the client already let go of the slot.)
    o.min_split = 128 << 10;
    o.budget = budget;
    std::vector<Result<TransferStats>> results(files.size(), internal_error("not run"));
    {
      std::vector<std::jthread> threads;
      for (std::size_t i = 0; i < files.size(); ++i) {
        threads.emplace_back([&, i] { results[i] = download_files(std::span(&files[i], 1), o); });
      }
    }
    for (std::size_t i = 0; i < files.size(); ++i) {
      ASSERT_TRUE(results[i]) << results[i].error().to_string();
      EXPECT_EQ(testing::sha256_hex(testing::read_file(files[i].dest)), testing::sha256_hex(contents[i])) << files[i].dest;
    }
  }

  testing::TempDir dir_;
  testing::TransferOrigin origin_;
};

TEST_F(TransferBudget, FourFilesOfFourConnectionsEachShareFourSlots) {
  auto budget = std::make_shared<ConnectionBudget>(4);
  fetch_concurrently(4, 4, budget);
  // Every request here is a ranged GET of file bytes (the engine sends no HEAD).
  EXPECT_LE(origin_.max_concurrent_requests(), 4);
  EXPECT_EQ(origin_.requests(), 4 * 8);  // 1 MiB in 128 KiB pieces, none split: 8 ranges per file
  // All slots are back once every call returned.
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(budget->try_acquire()) << "slot " << i;
  EXPECT_FALSE(budget->try_acquire());
}

TEST_F(TransferBudget, OneSlotForThreeFilesStillFinishesEveryFile) {
  auto budget = std::make_shared<ConnectionBudget>(1);
  fetch_concurrently(3, 4, budget);
  EXPECT_EQ(origin_.max_concurrent_requests(), 1);
}

TEST(ConnectionBudgetTest, CountsSlotsAndNeverGrowsPastThem) {
  ConnectionBudget budget(2);
  EXPECT_EQ(budget.slots(), 2);
  EXPECT_TRUE(budget.try_acquire());
  EXPECT_TRUE(budget.try_acquire());
  EXPECT_FALSE(budget.try_acquire());
  budget.release();
  budget.release();
  budget.release();  // one too many: ignored
  EXPECT_TRUE(budget.try_acquire());
  EXPECT_TRUE(budget.try_acquire());
  EXPECT_FALSE(budget.try_acquire());
  EXPECT_EQ(ConnectionBudget(0).slots(), 1);  // a budget always allows one connection
}

}  // namespace
}  // namespace hubload
