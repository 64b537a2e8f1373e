// The transfer engine against the in-process Hub server (FakeHub, CDN mode) with
// every fault the server can inject, on the single-stream and the ranged path:
// each run ends in a published blob whose sha256 equals the source's, or in a
// clear error after the allowed retries with nothing published.
#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "hubload/transfer.h"
#include "support/serve_fixture.h"
#include "support/transfer_data.h"

namespace hubload {
namespace {

namespace fs = std::filesystem;
using testing::random_bytes;
using testing::sha256_hex;


struct MatrixCase {
  std::string fault;  // serve::parse_fault_rule syntax
  int connections;
};

std::string case_name(const ::testing::TestParamInfo<MatrixCase>& info) {
  std::string n = info.param.fault + (info.param.connections == 1 ? "_single" : "_ranged");
  for (char& c : n) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return n;
}

class TransferFaultMatrix : public ::testing::TestWithParam<MatrixCase> {
 protected:
  static void SetUpTestSuite() {
    content_ = new std::string(random_bytes(6 << 20, 5));
  }
  static void TearDownTestSuite() { delete content_; }

  void SetUp() override {
    hub_.model("acme/big").branch("main", {{"model.safetensors", *content_}});
    testing::FakeHubOptions hub_options;
    hub_options.cdn = true;
    hub_.start(hub_options);
    file_ = testing::transfer_file(hub_.url() + "/acme/big/resolve/main/model.safetensors",
                                   (out_ / "blobs" / sha256_hex(*content_)).string(), *content_);
  }

  TransferOptions options(int connections) const {
    TransferOptions o;
    o.connections = connections;
    o.chunk_size = 512 << 10;
    o.min_split = 128 << 10;
    o.backoff_base = std::chrono::milliseconds(5);
    o.backoff_max = std::chrono::milliseconds(50);
    o.max_server_wait = std::chrono::milliseconds(200);
    o.stall_timeout = std::chrono::milliseconds(400);
    o.max_attempts = 8;  // prob faults hit the Hub and the CDN hop of one attempt
    return o;
  }

  void fault(const std::string& spec) {
    auto rule = serve::parse_fault_rule(spec);
    ASSERT_TRUE(rule) << rule.error().to_string();
    hub_.set_faults({.rules = {*rule}});
  }

  bool nothing_partial() const {
    for (const auto& e : fs::directory_iterator(fs::path(file_.dest).parent_path())) {
      if (e.path().string().ends_with(".incomplete")) {
        ADD_FAILURE() << "left behind: " << e.path() << " (" << fs::file_size(e.path()) << " bytes)";
        return false;
      }
    }
    return true;
  }

  static std::string* content_;
  testing::FakeHub hub_;
  testing::TempDir out_;
  TransferFile file_;
};

std::string* TransferFaultMatrix::content_ = nullptr;

TEST_P(TransferFaultMatrix, EndsInTheCorrectBlob) {
  fault(GetParam().fault);
  auto stats = download_files(std::span(&file_, 1), options(GetParam().connections));
  ASSERT_TRUE(stats) << stats.error().to_string();
  EXPECT_EQ(sha256_hex(testing::read_file(file_.dest)), sha256_hex(*content_));
  EXPECT_TRUE(nothing_partial());
  EXPECT_FALSE(hub_.cdn_saw_authorization());
}

INSTANTIATE_TEST_SUITE_P(
    Faults, TransferFaultMatrix,
    ::testing::ValuesIn(std::vector<MatrixCase>{
        {"drop:100000,first=3", 1}, {"drop:100000,first=3", 4},
        {"stall:2,after=50000,first=1", 1}, {"stall:2,after=50000,first=1", 4},
        {"status:503,retry=0,first=3", 1}, {"status:503,retry=0,first=3", 4},
        {"status:429,retry=0,first=2", 1}, {"status:429,retry=0,first=2", 4},
        {"status:500,prob=0.2", 1}, {"status:500,prob=0.2", 4},
        {"ignore-range", 1}, {"ignore-range", 4},
        {"corrupt:3000000,first=1", 1}, {"corrupt:3000000,first=1", 4},
    }),
    case_name);

TEST_F(TransferFaultMatrix, PermanentServerErrorFailsAfterTheAllowedAttempts) {
  fault("status:503,retry=0");
  auto stats = download_files(std::span(&file_, 1), options(4));
  ASSERT_FALSE(stats);
  EXPECT_EQ(stats.error().kind(), ErrorKind::network);
  EXPECT_NE(stats.error().message().find("giving up after 8 attempts: HTTP 503"), std::string::npos);
  EXPECT_FALSE(fs::exists(file_.dest));
}

TEST_F(TransferFaultMatrix, PermanentCorruptionIsAnIntegrityErrorAndNothingIsPublished) {
  fault("corrupt:12345");
  auto stats = download_files(std::span(&file_, 1), options(4));
  ASSERT_FALSE(stats);
  EXPECT_EQ(stats.error().kind(), ErrorKind::integrity);
  EXPECT_NE(stats.error().message().find("expected hash is " + file_.expected_hash), std::string::npos);
  EXPECT_FALSE(fs::exists(file_.dest));
  EXPECT_TRUE(nothing_partial());
}

}  // namespace
}  // namespace hubload
