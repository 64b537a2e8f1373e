// The engine follows a redirect itself (the Transport never does): every range
// request of a file behind the Hub's 302 lands on the CDN, and the token that
// was meant for the Hub never travels there.
#include <gtest/gtest.h>

#include <filesystem>

#include "hubload/transfer.h"
#include "support/serve_fixture.h"
#include "support/test_support.h"
#include "util/digest.h"

namespace hubload {
namespace {

TEST(TransferRedirect, RangesFollowTheCdnRedirectWithoutTheToken) {
  std::string bytes(3 << 20, '\0');
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 31 % 253);
  testing::FakeHub hub;
  hub.model("acme/r").branch("main", {{"w.safetensors", bytes}});
  hub.start(testing::FakeHubOptions().with_cdn());
  testing::TempDir dir;

  TransferFile file;
  file.url = hub.url() + "/acme/r/resolve/main/w.safetensors";
  file.dest = dir.path() / "w.safetensors";
  file.size = bytes.size();
  file.expected_hash = util_internal::sha256_hex(util_internal::bytes_of(bytes));
  file.headers.set("Authorization", "Bearer hf_for_the_hub_only");
  TransferOptions options;
  options.connections = 4;
  options.min_split = 256 << 10;
  auto stats = download_files(std::span(&file, 1), options);
  ASSERT_TRUE(stats) << stats.error().to_string();
  EXPECT_EQ(testing::read_file(file.dest), bytes);
  EXPECT_GE(stats->requests, 3u);  // several ranges, each redirected
  const ServeStats seen = hub.stats();
  EXPECT_EQ(seen.cdn_requests, stats->requests);
  EXPECT_FALSE(hub.cdn_saw_authorization());
}

}  // namespace
}  // namespace hubload
