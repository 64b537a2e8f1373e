// fetch_file_range against a server that honours Range and one that ignores it:
// the same bytes either way, and the ignoring server is cut off after the
// range's end instead of sending the whole file.
#include <gtest/gtest.h>

#include "hubload/hub.h"
#include "support/serve_fixture.h"

namespace hubload {
namespace {

constexpr std::uint64_t kMiB = 1024 * 1024;

std::string patterned(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>(i * 7 % 253);
  return s;
}

TEST(FetchFileRange, ServerIgnoringRangeIsCutOffAfterTheRange) {
  const std::string file = patterned(32 * kMiB);
  for (bool cdn : {false, true}) {
    for (const char* fault : {"", "ignore-range"}) {
      SCOPED_TRACE(std::string(cdn ? "cdn " : "direct ") + fault);
      testing::FakeHub hub;
      hub.model("acme/big").branch("main", {{"model.safetensors", file}});
      testing::FakeHubOptions serve_options;
      serve_options.cdn = cdn;
      if (*fault) serve_options.faults.rules.push_back(*parse_fault_rule(fault));
      hub.start(serve_options);
      testing::TempDir tmp;
      HubOptions options;
      options.endpoint = hub.url();
      options.cache_dir = tmp.path() / "cache";
      options.no_token = true;
      Result<std::string> got = fetch_file_range("acme/big", "model.safetensors", ByteRange{1000, 1999}, options);
      ASSERT_TRUE(got) << got.error().to_string();
      EXPECT_EQ(*got, file.substr(1000, 1000));
      // Whatever the server pushed into socket buffers before the abort reached
      // it, it must not have sent the 32 MiB file.
      EXPECT_LT(hub.stats().bytes_sent, 16 * kMiB);
    }
  }
}

}  // namespace
}  // namespace hubload
