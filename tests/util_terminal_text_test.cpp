// The one sanitiser for server strings on their way to a terminal, and the
// JSON shape check that runs before any parser builds a server's answer.
#include <gtest/gtest.h>

#include <string>

#include "util/json_limits.h"
#include "util/terminal_text.h"

namespace hubload::util_internal {
namespace {

TEST(TerminalText, ControlCharactersAreEscapedAndTextIsKept) {
  EXPECT_EQ(terminal_safe("model.safetensors"), "model.safetensors");
  EXPECT_EQ(terminal_safe("a\x1b[2Jb"), "a\\x1b[2Jb");
  EXPECT_EQ(terminal_safe("bell\x07 del\x7f nl\n"), "bell\\x07 del\\x7f nl\\x0a");
  EXPECT_EQ(terminal_safe("caf\xc3\xa9 \xe6\x97\xa5"), "caf\xc3\xa9 \xe6\x97\xa5");  // UTF-8 stays
  EXPECT_EQ(terminal_safe("\xc2\x9b" "2J"), "\\u009b2J");                     // C1 CSI, UTF-8 encoded
  EXPECT_EQ(terminal_safe("\x9b" "2J"), "\\x9b2J");                           // 8-bit CSI, not UTF-8
  EXPECT_EQ(terminal_safe("\xe6\x97"), "\\xe6\\x97");                         // a truncated sequence
  const std::string once = terminal_safe("x\x1b]0;title\x07y");
  EXPECT_EQ(terminal_safe(once), once);  // safe text comes back unchanged
  EXPECT_EQ(once.find('\x1b'), std::string::npos);
}

TEST(TerminalText, LinesKeepTheirBreaksAndExcerptsAreShort) {
  EXPECT_EQ(terminal_safe_lines("one\n\ttwo\x1b[2J"), "one\n\ttwo\\x1b[2J");
  EXPECT_EQ(terminal_excerpt("short"), "short");
  const std::string long_text(1000, 'x');
  EXPECT_EQ(terminal_excerpt(long_text, 10), std::string(10, 'x') + "...");
  // Never cut inside a character.
  EXPECT_EQ(terminal_excerpt("ab\xc3\xa9" "cd", 3), "ab...");
}

TEST(JsonLimits, DepthAndValueCountAreBoundedBeforeParsing) {
  EXPECT_TRUE(check_json_limits(R"({"a": [1, {"b": "}}}}]]"}], "c": null})", "answer"));
  std::string deep;
  for (int i = 0; i < 65; ++i) deep += "[";
  const Status too_deep = check_json_limits(deep, "answer");
  ASSERT_FALSE(too_deep);
  EXPECT_NE(too_deep.error().message().find("answer: JSON nested deeper than 64"), std::string::npos);
  std::string wide = "[";
  for (int i = 0; i < 11; ++i) wide += "1,";
  wide += "true]";
  JsonLimits limits;
  limits.max_values = 12;
  EXPECT_FALSE(check_json_limits(wide, "answer", limits));
  limits.max_values = 13;
  EXPECT_TRUE(check_json_limits(wide, "answer", limits));
  // Brackets inside strings, escaped quotes included, do not count.
  EXPECT_TRUE(check_json_limits(R"(["\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["])", "answer"));
}

}  // namespace
}  // namespace hubload::util_internal
