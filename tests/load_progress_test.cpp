// LoadOptions::progress and ::cancel: the callback sees bytes rise to exactly
// the plan's bytes, one call at a time; a false return or a set flag stops the
// load with ErrorKind::cancelled.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "cli/load_progress.h"
#include "hubload/load.h"
#include "support/load_models.h"

namespace hubload {
namespace {

using testing::planned_tiny_model;

Result<LoadedRank> load(const testing::PlannedModel& m, int rank, LoadOptions options) {
  Result<RankLoader> loader = RankLoader::create(m.dir.path(), std::move(options));
  if (!loader) return loader.error();
  Result<RankPlan> plan = rank_plan(m.plan, rank);
  if (!plan) return plan.error();
  return loader->load(*plan);
}

TEST(LoadProgress, ReachesThePlannedBytesRisingOneCallAtATime) {
  auto m = planned_tiny_model("llama", 2, DType::BF16);
  for (bool uring : {true, false}) {
    for (int threads : {1, 4}) {
      for (std::uint64_t chunk : {std::uint64_t{8} << 20, std::uint64_t{512}}) {
        std::vector<LoadProgress> seen;
        std::atomic<int> inside{0};
        bool overlapped = false;
        LoadOptions o;
        o.io_threads = threads;
        o.io_uring = uring;
        o.chunk_bytes = chunk;
        o.progress = [&](const LoadProgress& p) {
          if (inside.fetch_add(1) != 0) overlapped = true;
          std::this_thread::yield();
          seen.push_back(p);
          inside.fetch_sub(1);
          return true;
        };
        Result<LoadedRank> got = load(*m, 1, o);
        ASSERT_TRUE(got) << got.error().to_string();
        ASSERT_FALSE(seen.empty());
        EXPECT_FALSE(overlapped);
        for (std::size_t i = 0; i < seen.size(); ++i) {
          EXPECT_EQ(seen[i].rank, 1);
          EXPECT_EQ(seen[i].bytes_total, got->bytes_planned);
          if (i > 0) {
            EXPECT_GT(seen[i].bytes_done, seen[i - 1].bytes_done);
          }
        }
        EXPECT_EQ(seen.back().bytes_done, got->bytes_planned) << "threads " << threads << " chunk " << chunk;
        if (chunk == 512) {
          EXPECT_GT(seen.size(), 1u);
        }
      }
    }
  }
}

TEST(LoadProgress, FalseFromTheCallbackCancels) {
  auto m = planned_tiny_model("llama", 2, DType::BF16);
  LoadOptions o;
  o.io_threads = 1;
  o.chunk_bytes = 512;  // many batches, so stopping after the first is observable
  o.io_uring = false;
  int calls = 0;
  std::uint64_t total = 0;
  o.progress = [&](const LoadProgress& p) {
    ++calls;
    total = p.bytes_total;
    return false;
  };
  Result<LoadedRank> got = load(*m, 0, o);
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().kind(), ErrorKind::cancelled);
  EXPECT_NE(got.error().message().find("rank 0"), std::string::npos) << got.error().message();
  EXPECT_EQ(calls, 1);  // one thread: nothing is read after the callback said stop
  EXPECT_GT(total, 0u);
}

TEST(LoadProgress, ASetCancelFlagStopsTheLoad) {
  auto m = planned_tiny_model("llama", 2, DType::BF16);
  std::atomic<bool> cancel{true};
  LoadOptions o;
  o.cancel = &cancel;
  int calls = 0;
  o.progress = [&](const LoadProgress&) { return ++calls, true; };
  Result<LoadedRank> got = load(*m, 0, o);
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().kind(), ErrorKind::cancelled);
  EXPECT_EQ(calls, 0);

  // Set midway, from the callback (as another thread or a signal handler would).
  std::atomic<bool> later{false};
  o.io_threads = 1;
  o.io_uring = false;
  o.chunk_bytes = 512;
  o.cancel = &later;
  calls = 0;
  o.progress = [&](const LoadProgress&) {
    if (++calls == 2) later = true;
    return true;
  };
  got = load(*m, 0, o);
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().kind(), ErrorKind::cancelled);
  EXPECT_EQ(calls, 2);

  later = false;
  o.progress = nullptr;
  EXPECT_TRUE(load(*m, 0, o));  // the flag is read, not latched
}

// `hubload load`'s terminal line (src/cli/load_progress.*).
TEST(LoadProgressLine, ShowsBytesPercentRateAndEta) {
  const LoadProgress quarter{1, 512ull << 20, 2048ull << 20};
  EXPECT_EQ(cli::load_progress_text(quarter, 8, 0.5),
            "rank 1/8: 512.00 MiB of 2.00 GiB (25%), 1.07 GB/s, ETA 2s");
  EXPECT_EQ(cli::load_progress_text({0, 0, 0}, 1, 0), "rank 0/1: 0 B of 0 B (100%), 0 B/s, ETA --");

  cli::LoadProgressLine line(8, /*interval=*/0.1);
  EXPECT_EQ(line.clear(), "");  // nothing drawn, nothing to erase
  EXPECT_EQ(line.update(quarter, 0.5), "\r\x1b[2K" + cli::load_progress_text(quarter, 8, 0.5));
  EXPECT_EQ(line.update({1, 600ull << 20, 2048ull << 20}, 0.55), "");  // too soon
  EXPECT_NE(line.update({1, 700ull << 20, 2048ull << 20}, 0.7), "");
  EXPECT_NE(line.update({1, 2048ull << 20, 2048ull << 20}, 0.71), "");  // the last one always
  EXPECT_EQ(line.clear(), "\r\x1b[2K");
}

}  // namespace
}  // namespace hubload
