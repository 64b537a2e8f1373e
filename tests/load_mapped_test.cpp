// map_short_reads: a cached file's short reads copied out of a mapping held
// under a read lease. The bytes equal those read with pread; a writer that
// arrives during a load waits for the lease instead of truncating the file
// under the mapping (which would kill the process with SIGBUS), and the load
// goes on with reads; where no lease is granted the loader reads as before.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "hubload/load.h"
#include "load/leased_mapping.h"
#include "support/load_models.h"
#include "support/test_support.h"
#include "support/tp_models.h"

namespace hubload {
namespace {

using load_internal::LeasedMapping;
using testing::load_rank;
using testing::planned_tiny_model;

// The file at `path`, leased and mapped.
Result<LeasedMapping> lease(const std::string& path) {
  HUBLOAD_ASSIGN_OR_RETURN(ReadFile file, ReadFile::open(path));
  return LeasedMapping::open(path, file.fd());
}

// Why this machine grants no lease ("" where it does): leases off, NFS, ...
std::string why_no_lease(const std::string& path) {
  Result<LeasedMapping> m = lease(path);
  return m ? "" : m.error().to_string();
}

// Whether the child exits with 0 within 10 s: well under fs.lease-break-time
// (45 s by default), so a lease left held fails the test instead of slowing it.
bool exits_cleanly_soon(pid_t pid) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  int status = 0;
  for (;;) {
    const pid_t got = ::waitpid(pid, &status, WNOHANG);
    if (got == pid) return WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (got < 0) return false;
    if (std::chrono::steady_clock::now() > end) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

// Whether the child has not exited yet (it still waits in open or truncate).
bool still_waiting(pid_t pid) {
  int status = 0;
  return ::waitpid(pid, &status, WNOHANG) == 0;
}

bool wait_until(const std::function<bool()>& condition, std::chrono::seconds limit = std::chrono::seconds(10)) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

// A lease break in progress shows in /proc/locks as a BREAKING lease.
bool lease_breaking() {
  std::ifstream in("/proc/locks");
  std::stringstream text;
  text << in.rdbuf();
  return text.str().find("BREAKING") != std::string::npos;
}

// A file of 100,000 bytes, "0123456789" then 'x's; the test is skipped where this
// machine grants no lease on it.
class LeasedMappingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    write();
    const std::string why = why_no_lease(path);
    if (!why.empty()) GTEST_SKIP() << why;
  }
  void write() const { testing::write_file(path, "0123456789" + std::string(99990, 'x')); }
  testing::TempDir dir;
  const std::string path = (dir.path() / "f").string();
};

TEST_F(LeasedMappingTest, MapsTheFileWhileHeld) {
  Result<LeasedMapping> m = lease(path);
  ASSERT_TRUE(m) << m.error().to_string();
  EXPECT_TRUE(m->held());
  ASSERT_EQ(m->bytes().size(), 100000u);
  EXPECT_EQ(0, std::memcmp(m->bytes().data(), "0123456789", 10));
}

TEST_F(LeasedMappingTest, NoLeaseWhileTheFileIsOpenForWriting) {
  UniqueFd writer(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  ASSERT_TRUE(writer.valid());
  Result<LeasedMapping> m = lease(path);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().kind(), ErrorKind::unsupported);
  EXPECT_NE(m.error().message().find(path), std::string::npos) << m.error().message();
}

// A file renamed over the path since the loader opened it is not mapped: the
// lease and the mapping would be of a file the loader's other reads do not see.
TEST_F(LeasedMappingTest, AFileRenamedOverThePathIsRefused) {
  Result<ReadFile> opened = ReadFile::open(path);
  ASSERT_TRUE(opened);
  const std::string other = (dir.path() / "g").string();
  testing::write_file(other, "another file");
  ASSERT_EQ(0, ::rename(other.c_str(), path.c_str()));
  Result<LeasedMapping> m = LeasedMapping::open(path, opened->fd());
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().kind(), ErrorKind::unsupported);
  EXPECT_NE(m.error().message().find("replaced"), std::string::npos) << m.error().message();
}

// A writer (open for writing, or truncate) waits until the lease is released;
// held() turns false as soon as it starts waiting, and the holder is not signalled
// to death. Once released, the writer goes on and the file changes.
TEST_F(LeasedMappingTest, AWriterWaitsForTheLeaseAndHeldSaysSo) {
  for (const bool truncate : {false, true}) {
    SCOPED_TRACE(truncate ? "truncate" : "open for writing");
    write();
    std::optional<LeasedMapping> m;
    {
      Result<LeasedMapping> r = lease(path);
      ASSERT_TRUE(r) << r.error().to_string();
      m.emplace(std::move(r).value());
    }
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      if (truncate) _exit(::truncate(path.c_str(), 10) == 0 ? 0 : 1);
      const int fd = ::open(path.c_str(), O_WRONLY | O_TRUNC);
      _exit(fd >= 0 ? 0 : 1);
    }
    EXPECT_TRUE(wait_until([&] { return !m->held(); })) << "held() never saw the writer";
    // The mapping still reads the whole file: the writer waits.
    EXPECT_TRUE(still_waiting(child));
    EXPECT_EQ(static_cast<char>(m->bytes()[99999]), 'x');
    m.reset();
    EXPECT_TRUE(exits_cleanly_soon(child));
    EXPECT_LT(std::filesystem::file_size(path), 100000u);
  }
}

// A planned model whose rank reads are many and short (64-byte chunks).
LoadOptions short_reads(int threads) {
  LoadOptions o;
  o.io_threads = threads;
  o.chunk_bytes = 64;
  o.direct = DirectIo::off;
  return o;
}

TEST(MappedLoad, SameBytesAsReadsForEveryRank) {
  for (const std::string family : {"llama", "gpt2"}) {
    auto m = planned_tiny_model(family, 4, DType::BF16);
    const std::string why = why_no_lease((m->dir.path() / "model.safetensors").string());
    for (int r = 0; r < 4; ++r) {
      SCOPED_TRACE(family + " rank " + std::to_string(r));
      const auto want = testing::apply_rank_plan(*rank_plan(m->plan, r), m->file);
      for (int threads : {1, 3}) {
        LoadOptions o = short_reads(threads);
        LoadedRank mapped = load_rank(*m, r, o);
        testing::expect_rank_bytes(mapped, want);
        if (why.empty()) {
          EXPECT_GT(mapped.mapped_reads, 0u);
          EXPECT_LE(mapped.mapped_reads, mapped.read_calls);
        } else {
          EXPECT_EQ(mapped.mapped_reads, 0u) << why;
        }
        o.map_short_reads = false;
        LoadedRank read = load_rank(*m, r, o);
        testing::expect_rank_bytes(read, want);
        EXPECT_EQ(read.mapped_reads, 0u);
        EXPECT_EQ(read.read_calls, mapped.read_calls);
        EXPECT_EQ(read.bytes_read, mapped.bytes_read);
      }
    }
  }
}

TEST(MappedLoad, ConvertsWhileCopyingOutOfTheMapping) {
  auto m = planned_tiny_model("llama", 2, DType::BF16);
  LoadOptions o = short_reads(2);
  o.convert_to = DType::F32;
  LoadedRank mapped = load_rank(*m, 1, o);
  o.map_short_reads = false;
  LoadedRank read = load_rank(*m, 1, o);
  std::vector<std::vector<std::byte>> want;
  for (const LoadedTensor& t : read.tensors) {
    EXPECT_EQ(t.dtype, DType::F32) << t.name;
    want.emplace_back(t.bytes.begin(), t.bytes.end());
  }
  if (why_no_lease((m->dir.path() / "model.safetensors").string()).empty()) {
    EXPECT_GT(mapped.mapped_reads, 0u);
  }
  testing::expect_rank_bytes(mapped, want);
}

TEST(MappedLoad, ReadsWhereTheFileIsOpenForWriting) {
  auto m = planned_tiny_model("llama", 4, DType::BF16);
  const std::string path = (m->dir.path() / "model.safetensors").string();
  UniqueFd writer(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  ASSERT_TRUE(writer.valid());
  const auto want = testing::apply_rank_plan(*rank_plan(m->plan, 3), m->file);
  LoadedRank got = load_rank(*m, 3, short_reads(2));
  testing::expect_rank_bytes(got, want);
  EXPECT_EQ(got.mapped_reads, 0u);
}

// A writer that arrives during a load: the batches after it are read, the load
// completes with the plan's bytes, and the writer goes on once the load ends.
TEST(MappedLoad, AWriterArrivingMidLoadTurnsTheRestToReads) {
  auto m = planned_tiny_model("llama", 4, DType::BF16);
  const std::string path = (m->dir.path() / "model.safetensors").string();
  const std::string why = why_no_lease(path);
  if (!why.empty()) GTEST_SKIP() << why;
  const auto want = testing::apply_rank_plan(*rank_plan(m->plan, 1), m->file);
  LoadOptions o = short_reads(1);
  LoadedRank all_mapped = load_rank(*m, 1, o);
  ASSERT_GT(all_mapped.mapped_reads, 0u);
  pid_t child = -1;
  bool child_waited_for_lease = false;
  o.progress = [&](const LoadProgress&) {
    if (child >= 0) return true;
    child = ::fork();
    if (child == 0) _exit(::open(path.c_str(), O_WRONLY) >= 0 ? 0 : 1);
    child_waited_for_lease = wait_until(lease_breaking);
    return true;
  };
  LoadedRank got = load_rank(*m, 1, o);
  ASSERT_GT(child, 0);
  EXPECT_TRUE(exits_cleanly_soon(child));
  EXPECT_TRUE(child_waited_for_lease) << "no BREAKING lease in /proc/locks";
  testing::expect_rank_bytes(got, want);
  EXPECT_EQ(got.read_calls, all_mapped.read_calls);
  EXPECT_GT(got.mapped_reads, 0u);                      // the first batch, before the writer
  EXPECT_LT(got.mapped_reads, all_mapped.mapped_reads);  // the rest were read
}

}  // namespace
}  // namespace hubload
