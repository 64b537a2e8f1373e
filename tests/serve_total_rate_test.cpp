// `serve --max-rate-total`: every response books its body chunks on one shared
// schedule, so all connections together never pass the rate.
#include <gtest/gtest.h>

#include "serve/body.h"
#include "support/test_support.h"

namespace hubload {
namespace {

using namespace std::chrono;

TEST(ServeTotalRate, ChunksOfAllResponsesQueueOnOneSchedule) {
  serve_internal::TotalRate rate(1000);  // bytes per second
  const auto before = steady_clock::now();
  const auto first = rate.book(500);
  EXPECT_GE(first, before);  // the first chunk may leave at once
  // Whichever response books next, its bytes leave after the 500 booked before.
  EXPECT_EQ(rate.book(250) - first, duration_cast<steady_clock::duration>(duration<double>(0.5)));
  EXPECT_EQ(rate.book(1) - first, duration_cast<steady_clock::duration>(duration<double>(0.75)));
}

TEST(ServeTotalRate, TheCliRejectsARateThatIsNotBytesPerSecond) {
  auto r = testing::run_command(testing::cli_path().string() + " serve --repo a/b=/nonexistent --max-rate-total 5x 2>&1");
  EXPECT_EQ(r.exit_code, 3) << r.out;
  EXPECT_NE(r.out.find("--max-rate-total expects bytes per second"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace hubload
