// Percent-encoding as Hub URLs need it (util/percent_encoding.h): what the
// client writes into a URL and what the server reads back.
#include <gtest/gtest.h>

#include <string>

#include "util/percent_encoding.h"

namespace hubload::util_internal {
namespace {

TEST(PercentEncoding, KeepsOnlyUnreservedCharacters) {
  EXPECT_EQ(percent_encode("AZaz09-._~", false), "AZaz09-._~");
  EXPECT_EQ(percent_encode("refs/pr/1", false), "refs%2Fpr%2F1");
  EXPECT_EQ(percent_encode("sub dir/a#b.txt", true), "sub%20dir/a%23b.txt");
  EXPECT_EQ(percent_encode("a+b?c=d&e", false), "a%2Bb%3Fc%3Dd%26e");
  EXPECT_EQ(percent_encode("\xc3\xa9", false), "%C3%A9");  // UTF-8 bytes, upper-case hex
  EXPECT_EQ(percent_encode(std::string_view("\0", 1), false), "%00");
}

TEST(PercentEncoding, DecodesEitherCaseAndRoundTrips) {
  std::string out;
  ASSERT_TRUE(percent_decode("refs%2fpr%2F1", out));
  EXPECT_EQ(out, "refs/pr/1");
  ASSERT_TRUE(percent_decode("a+b", out));
  EXPECT_EQ(out, "a+b");  // '+' is a space only in form bodies
  const std::string all = "x y/\xc3\xa9%#?";
  ASSERT_TRUE(percent_decode(percent_encode(all, false), out));
  EXPECT_EQ(out, all);
}

TEST(PercentEncoding, RejectsMalformedEscapes) {
  std::string out;
  for (const char* bad : {"%", "%4", "a%zz", "%G1", "abc%2"}) EXPECT_FALSE(percent_decode(bad, out)) << bad;
}

}  // namespace
}  // namespace hubload::util_internal
