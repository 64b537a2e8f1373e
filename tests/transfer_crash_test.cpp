// Crash and race behaviour across processes: a download killed with SIGKILL at
// random moments resumes from its journal, and processes racing for one file
// publish one correct blob fetched once.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <random>

#include "hubload/transfer.h"
#include "support/test_support.h"
#include "support/transfer_origin.h"
#include "support/transfer_data.h"
#include "transfer/journal.h"

namespace hubload {
namespace {

namespace fs = std::filesystem;
using testing::random_bytes;
using testing::sha256_hex;
using testing::TempDir;
using testing::TransferOrigin;

constexpr std::uint64_t kChunk = 256 << 10;
constexpr int kConnections = 4;



TransferOptions options() {
  TransferOptions o;
  o.connections = kConnections;
  o.chunk_size = kChunk;
  o.min_split = 64 << 10;
  o.backoff_base = std::chrono::milliseconds(5);
  o.backoff_max = std::chrono::milliseconds(50);
  o.journal_interval = std::chrono::milliseconds(10);
  return o;
}

// Runs the download in a child process; returns its pid. Exit status 0 = published.
pid_t spawn_download(const TransferFile& file) {
  pid_t pid = ::fork();
  if (pid == 0) {
    auto r = download_files(std::span(&file, 1), options());
    ::_exit(r ? 0 : 1);
  }
  return pid;
}

std::uint64_t journaled_bytes(const fs::path& dir) {
  std::uint64_t n = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (!e.path().string().ends_with(".journal.incomplete")) continue;
    auto j = transfer::load_journal(e.path().string());
    if (!j) continue;
    for (const auto& r : j->ranges) n += r.size();
  }
  return n;
}

TEST(TransferCrash, KilledAtRandomMomentsResumesAndRefetchesLittle) {
  TransferOrigin origin;
  std::string content = random_bytes(8 << 20, 11);
  origin.add_file("/blob", content);
  origin.set_faults({.bytes_per_second = 6 << 20});
  std::mt19937 rng(1234);
  for (int round = 0; round < 20; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    TempDir dir;
    TransferFile file = testing::transfer_file(origin.url("/blob"), (dir / "blob").string(), content);

    pid_t child = spawn_download(file);
    ASSERT_GT(child, 0);
    ::usleep(std::uniform_int_distribution<int>(10'000, 300'000)(rng));
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);

    std::uint64_t missing = content.size() - journaled_bytes(dir.path());
    std::uint64_t sent_before = origin.body_bytes_sent();
    pid_t rerun = spawn_download(file);
    int status = 0;
    ::waitpid(rerun, &status, 0);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    EXPECT_EQ(sha256_hex(testing::read_file(file.dest)), file.expected_hash);
    std::uint64_t refetched = origin.body_bytes_sent() - sent_before;
    EXPECT_LE(refetched, missing + kConnections * kChunk);
    for (const auto& e : fs::directory_iterator(dir.path())) {
      EXPECT_FALSE(e.path().string().ends_with(".incomplete")) << e.path();
    }
  }
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
    int status = 0;
    ::waitpid(k, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  EXPECT_EQ(sha256_hex(testing::read_file(file.dest)), file.expected_hash);
  // Fetched once: the two dropped bodies and split tails are the only extra bytes.
  EXPECT_LE(origin.body_bytes_sent(), content.size() + 2 * 300'000 + kConnections * kChunk);
}

}  // namespace
}  // namespace hubload
