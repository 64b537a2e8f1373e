// HubOptions::cancel, the flag the Python bindings set on Ctrl-C: a download
// stops with ErrorKind::cancelled and publishes nothing; cleared, it completes.
#include <atomic>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "hubload/hub.h"
#include "support/error_expect.h"
#include "support/serve_fixture.h"
#include "support/test_support.h"

namespace hubload {
namespace {

namespace fs = std::filesystem;

TEST(HubCancelTest, ASetFlagCancelsAndAClearedOneCompletes) {
  testing::TempDir tmp;
  testing::FakeHub hub;
  const std::string weights(64 * 1024, 'w');
  hub.model("acme/tiny").branch("main", {{"config.json", "{}"}, {"model.safetensors", weights}});
  hub.start();
  DownloadOptions options;
  options.hub.endpoint = hub.url();
  options.hub.cache_dir = tmp.path() / "cache";
  options.hub.no_token = true;
  std::atomic<bool> cancel{true};
  options.hub.cancel = &cancel;

  auto cancelled = download_model("acme/tiny", options);
  ASSERT_TRUE(testing::fails_with(cancelled, ErrorKind::cancelled));
  const fs::path blob = tmp.path() / "cache" / "models--acme--tiny" / "blobs" / hub.etag("model.safetensors", weights);
  EXPECT_FALSE(fs::exists(blob));

  cancel = false;
  auto done = download_model("acme/tiny", options);
  ASSERT_TRUE(done) << done.error().to_string();
  EXPECT_EQ(testing::read_file(done->snapshot / "model.safetensors"), weights);
}

}  // namespace
}  // namespace hubload
