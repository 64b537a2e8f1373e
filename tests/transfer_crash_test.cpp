// Crash and race behaviour across processes: a download killed with SIGKILL at
// random moments resumes from its journal, and processes racing for one file
// publish one correct blob fetched once. Each download runs in its own process
// (support/transfer_child.h says why not a bare fork).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <random>

#include "hubload/transfer.h"
#include "support/test_support.h"
#include "support/transfer_origin.h"
#include "support/transfer_child.h"
#include "support/transfer_data.h"
#include "transfer/journal.h"

namespace hubload {
namespace {

namespace fs = std::filesystem;
using testing::random_bytes;
using testing::sha256_hex;
using testing::TempDir;
using testing::TransferOrigin;

// The child downloads with these (tests/tools/transfer_child.cpp).
const std::uint64_t kChildChunk = testing::fast_transfer_options().chunk_size;
const int kChildConnections = testing::fast_transfer_options().connections;

// Generous: a download here takes well under a second; a child still running
// after this is hung, and the test says so instead of timing out.
constexpr std::chrono::seconds kChildLimit{60};

pid_t spawn_download(const TransferFile& file) {
  return testing::spawn_transfer_child(HUBLOAD_TRANSFER_CHILD_PATH, file);
}

std::uint64_t journaled_bytes(const fs::path& dir) {
  std::uint64_t n = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (!e.path().string().ends_with(".journal.incomplete")) continue;
    auto j = transfer_internal::load_journal(e.path().string());
    if (!j) continue;
    for (const auto& r : j->written) n += r.size();  // includes the synced ranges
  }
  return n;
}

TEST(TransferCrash, KilledAtRandomMomentsResumesAndRefetchesLittle) {
  TransferOrigin origin;
  std::string content = random_bytes(8 << 20, 11);
  origin.add_file("/blob", content);
  origin.set_faults({.bytes_per_second = 6 << 20});
  std::mt19937 rng(1234);
  int resumed = 0;  // rounds whose rerun had journaled bytes to resume from
  for (int round = 0; round < 20; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    TempDir dir;
    TransferFile file = testing::transfer_file(origin.url("/blob"), (dir / "blob").string(), content);

    pid_t child = spawn_download(file);
    ASSERT_GT(child, 0);
    ::usleep(std::uniform_int_distribution<int>(30'000, 400'000)(rng));  // the child starts in ~20 ms
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);

    std::uint64_t missing = content.size() - journaled_bytes(dir.path());
    if (missing > 0 && missing < content.size()) ++resumed;
    std::uint64_t sent_before = origin.body_bytes_sent();
    pid_t rerun = spawn_download(file);
    ASSERT_GT(rerun, 0);
    ASSERT_EQ(testing::wait_child(rerun, kChildLimit), 0) << "the rerun failed or hung";
    EXPECT_EQ(sha256_hex(testing::read_file(file.dest)), file.expected_hash);
    std::uint64_t refetched = origin.body_bytes_sent() - sent_before;
    EXPECT_LE(refetched, missing + kChildConnections * kChildChunk);
    for (const auto& e : fs::directory_iterator(dir.path())) {
      EXPECT_FALSE(e.path().string().ends_with(".incomplete")) << e.path();
    }
  }
  std::cerr << resumed << " of 20 reruns resumed a partial\n";
  EXPECT_GE(resumed, 5) << "too few kills landed mid-download for the test to mean much";
}

TEST(TransferCrash, FourProcessesRacingWithFaultsPublishOneBlobFetchedOnce) {
  TransferOrigin origin;
  std::string content = random_bytes(16 << 20, 12);
  origin.add_file("/blob", content);
  origin.set_faults({.drop_first = 2, .drop_after = 300'000});
  TempDir dir;
  TransferFile file = testing::transfer_file(origin.url("/blob"), (dir / "blob").string(), content);
  std::vector<pid_t> kids;
  for (int i = 0; i < 4; ++i) kids.push_back(spawn_download(file));
  for (pid_t k : kids) {
    ASSERT_GT(k, 0);
    EXPECT_EQ(testing::wait_child(k, kChildLimit), 0) << "a racer failed or hung";
  }
  EXPECT_EQ(sha256_hex(testing::read_file(file.dest)), file.expected_hash);
  // Fetched once: the two dropped bodies and split tails are the only extra bytes.
  EXPECT_LE(origin.body_bytes_sent(), content.size() + 2 * 300'000 + kChildConnections * kChildChunk);
}

}  // namespace
}  // namespace hubload
