#include "hubload/error.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <set>

namespace hubload {
namespace {

Result<int> parse_positive(int v) {
  if (v <= 0) return invalid_input("value " + std::to_string(v) + " is not positive");
  return v;
}

Result<int> doubled(int v) {
  HUBLOAD_ASSIGN_OR_RETURN(int x, parse_positive(v));
  return 2 * x;
}

Status check(int v) {
  HUBLOAD_TRY(parse_positive(v));
  return ok();
}

TEST(ErrorTest, AssignOrReturnPropagatesTheFirstError) {
  auto good = doubled(4);
  ASSERT_TRUE(good);
  EXPECT_EQ(*good, 8);
  auto bad = doubled(-1);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().kind(), ErrorKind::invalid_input);
  EXPECT_EQ(bad.error().message(), "value -1 is not positive");
}

TEST(ErrorTest, TryPropagatesFromStatus) {
  EXPECT_TRUE(check(1));
  Status s = check(0);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().to_string(), "invalid_input: value 0 is not positive");
}

TEST(ErrorTest, ContextIsPrefixedAsTheErrorRises) {
  Error e = not_found("tensor 'lm_head.weight'");
  e.with_context("model.safetensors");
  EXPECT_EQ(e.message(), "model.safetensors: tensor 'lm_head.weight'");
  EXPECT_EQ(e.kind(), ErrorKind::not_found);
}

TEST(ErrorTest, ErrnoMapsEnoentToNotFoundAndOthersToIo) {
  EXPECT_EQ(errno_error("/x", ENOENT).kind(), ErrorKind::not_found);
  EXPECT_EQ(errno_error("/x", EACCES).kind(), ErrorKind::io);
  EXPECT_NE(errno_error("/x", EACCES).message().find("/x"), std::string::npos);
}

TEST(ErrorTest, EveryKindHasADistinctName) {
  std::set<std::string_view> names;
  for (int k = 0; k <= static_cast<int>(ErrorKind::internal); ++k) {
    names.insert(to_string(static_cast<ErrorKind>(k)));
  }
  EXPECT_EQ(names.size(), static_cast<size_t>(ErrorKind::internal) + 1);
}

// Reading the value of a failed Result must stop the program with the error's
// message in every build type (NDEBUG included), never throw from deep inside.
TEST(ErrorDeathTest, ValueOfAnErrorAbortsWithItsMessage) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  Result<int> bad = parse_positive(-3);
  EXPECT_DEATH((void)bad.value(), "Result::value\\(\\) on an error: invalid_input: value -3 is not positive");
  EXPECT_DEATH((void)*parse_positive(-4), "invalid_input: value -4 is not positive");
  EXPECT_DEATH((void)std::move(bad).value(), "value -3 is not positive");
}

TEST(ErrorDeathTest, StatusValueOfAnErrorAbortsWithItsMessage) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  Status bad = check(0);
  EXPECT_DEATH(bad.value(), "invalid_input: value 0 is not positive");
}

TEST(ErrorDeathTest, ErrorOfASuccessAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  Result<int> good = parse_positive(2);
  EXPECT_DEATH((void)good.error(), "Result::error\\(\\) on a value");
  Status fine = ok();
  EXPECT_DEATH((void)fine.error(), "Result::error\\(\\) on a value");
}

}  // namespace
}  // namespace hubload
