// Batched reads through io_uring: the loader's bytes with io_uring on equal
// those with it off (and the plan applied to the file), errors keep their kind
// and name the file, and the ring reads any number of odd-sized pieces exactly.
// Where the kernel refuses io_uring the loader tests run the pread fallback and
// the ring's own tests are skipped.
#include <gtest/gtest.h>


#include <cstring>
#include <iostream>
#include <random>

#include "hubload/file.h"
#include "hubload/load.h"
#include "load/uring_reader.h"
#include "support/test_support.h"
#include "support/load_models.h"
#include "support/tp_models.h"

namespace hubload {
namespace {

using load_internal::PositionalRead;
using load_internal::UringReader;

using testing::load_rank;
using testing::planned_tiny_model;

std::string why_no_ring() {
  Result<UringReader> ring = UringReader::create(64);
  return ring ? "" : ring.error().to_string();
}

TEST(UringLoad, SameBytesAsPreadForEveryRankAndTaskShape) {
  const std::string why = why_no_ring();
  const bool uring_available = why.empty();
  if (!uring_available) std::cerr << "io_uring unavailable, testing the pread fallback: " << why << "\n";
  struct Shape {
    int threads;
    std::uint64_t chunk_bytes;
    std::uint64_t max_gap_bytes;  // 0: every run its own direct read, the ring's case
  };
  const Shape shapes[] = {{4, 8u << 20, 4096}, {4, 8u << 20, 0}, {1, 64, 0}, {3, 64, 0}, {3, 64, 4096}};
  for (const std::string family : {"llama", "gpt2", "falcon"}) {
    auto m = planned_tiny_model(family, 4, DType::BF16);
    for (int r = 0; r < 4; ++r) {
      const auto want = testing::apply_rank_plan(*rank_plan(m->plan, r), m->file);
      for (const Shape& shape : shapes) {
        LoadOptions o;
        o.io_threads = shape.threads;
        o.chunk_bytes = shape.chunk_bytes;
        o.max_gap_bytes = shape.max_gap_bytes;
        o.map_short_reads = false;  // every task a read: the ring's case
        o.io_uring = false;
        LoadedRank off = load_rank(*m, r, o);
        o.io_uring = true;
        LoadedRank on = load_rank(*m, r, o);
        SCOPED_TRACE(family + " rank " + std::to_string(r) + " threads " + std::to_string(shape.threads) +
                     " chunk " + std::to_string(shape.chunk_bytes) + " gap " + std::to_string(shape.max_gap_bytes));
        ASSERT_EQ(on.tensors.size(), want.size());
        ASSERT_EQ(off.tensors.size(), want.size());
        for (std::size_t i = 0; i < want.size(); ++i) {
          ASSERT_EQ(on.tensors[i].bytes.size(), want[i].size());
          ASSERT_EQ(off.tensors[i].bytes.size(), want[i].size());
          EXPECT_EQ(0, std::memcmp(on.tensors[i].bytes.data(), want[i].data(), want[i].size())) << on.tensors[i].name;
          EXPECT_EQ(0, std::memcmp(off.tensors[i].bytes.data(), want[i].data(), want[i].size()))
              << off.tensors[i].name;
        }
        EXPECT_EQ(on.read_calls, off.read_calls);
        EXPECT_EQ(off.uring_reads, 0u);
        // Where this kernel refuses io_uring the loader falls back to pread.
        if (uring_available && shape.max_gap_bytes == 0) {
          EXPECT_GT(on.uring_reads, 0u);
        } else if (!uring_available) {
          EXPECT_EQ(on.uring_reads, 0u);
        }
        EXPECT_LE(on.uring_reads, on.read_calls);
        EXPECT_EQ(on.bytes_read, off.bytes_read);
      }
    }
  }
}

TEST(UringLoad, RangePastTheEndIsInvalidInputNamingTheFile) {
  testing::TempDir dir;
  testing::write_file(dir / "short.safetensors", std::string(100, 'x'));
  RankPlan plan;
  // The first run is in the file, so the batch also holds a good direct read.
  plan.tensors.push_back(RankTensor{"a", "short.safetensors", DType::U8, {16}, 16, {{0, 16, 0}}, {}});
  plan.tensors.push_back(RankTensor{"t", "short.safetensors", DType::U8, {64}, 64, {{80, 64, 0}}, {}});
  for (int threads : {1, 3}) {
    LoadOptions o;
    o.io_threads = threads;
    o.max_gap_bytes = 0;
    Result<LoadedRank> r = RankLoader::create(dir.path().string(), o)->load(plan);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().kind(), ErrorKind::invalid_input) << r.error().to_string();
    EXPECT_NE(r.error().message().find("short.safetensors"), std::string::npos) << r.error().message();
    EXPECT_NE(r.error().message().find("[80, 144)"), std::string::npos) << r.error().message();
  }
}

// A file of `size` deterministic bytes; the ring tests read it back.
struct BytesFile {
  testing::TempDir dir;
  std::string path;
  std::vector<std::byte> bytes;
  explicit BytesFile(std::size_t size) : path((dir / "data.bin").string()), bytes(size) {
    std::mt19937 gen(7);
    for (std::byte& b : bytes) b = static_cast<std::byte>(gen());
    testing::write_file(path, bytes);
  }
};

TEST(UringReader, ManyOddReadsReturnTheFilesBytes) {
  Result<UringReader> ring = UringReader::create(64);
  if (!ring) GTEST_SKIP() << "io_uring is not available here: " << ring.error().to_string();
  BytesFile f(1 << 20);
  ReadFile file = *ReadFile::open(f.path);
  std::mt19937 gen(11);
  std::vector<PositionalRead> reads;
  std::uint64_t total = 0;
  for (int i = 0; i < 300; ++i) {  // more reads than the ring's depth
    std::uint64_t length = 1 + gen() % 4999;
    std::uint64_t offset = gen() % (f.bytes.size() - length + 1);
    reads.push_back(PositionalRead{file.fd(), offset, length, nullptr, file.path().native()});
    total += length;
  }
  reads.push_back(PositionalRead{file.fd(), 5, 0, nullptr, file.path().native()});                 // empty
  reads.push_back(PositionalRead{file.fd(), 0, f.bytes.size(), nullptr, file.path().native()});   // whole file
  total += f.bytes.size();
  std::vector<std::byte> out(total);
  std::uint64_t at = 0;
  for (PositionalRead& r : reads) {
    r.dest = out.data() + at;
    at += r.length;
  }
  ASSERT_TRUE(ring->read_all(reads).has_value());
  for (const PositionalRead& r : reads)
    ASSERT_EQ(0, std::memcmp(r.dest, f.bytes.data() + r.offset, r.length)) << "offset " << r.offset;
  // The ring is reusable after a batch.
  std::vector<std::byte> again(10);
  PositionalRead one{file.fd(), 1000, 10, again.data(), file.path().native()};
  ASSERT_TRUE(ring->read_all({&one, 1}).has_value());
  EXPECT_EQ(0, std::memcmp(again.data(), f.bytes.data() + 1000, 10));
}

TEST(UringReader, EndOfFileAndBadDescriptorAreIoErrorsNamingTheRange) {
  Result<UringReader> ring = UringReader::create(8);
  if (!ring) GTEST_SKIP() << "io_uring is not available here: " << ring.error().to_string();
  BytesFile f(100);
  ReadFile file = *ReadFile::open(f.path);
  std::vector<std::byte> out(64);
  // The range runs past the end: the first 20 bytes come back, then end of file.
  PositionalRead past{file.fd(), 80, 64, out.data(), file.path().native()};
  Status eof = ring->read_all({&past, 1});
  ASSERT_FALSE(eof.has_value());
  EXPECT_EQ(eof.error().kind(), ErrorKind::io);
  EXPECT_NE(eof.error().message().find(f.path + " bytes [80, 144)"), std::string::npos) << eof.error().message();
  EXPECT_NE(eof.error().message().find("end of file at offset 100"), std::string::npos) << eof.error().message();
  EXPECT_EQ(0, std::memcmp(out.data(), f.bytes.data() + 80, 20));

  PositionalRead bad{-1, 0, 8, out.data(), "nowhere.bin"};
  Status ebadf = ring->read_all({&bad, 1});
  ASSERT_FALSE(ebadf.has_value());
  EXPECT_EQ(ebadf.error().kind(), ErrorKind::io);
  EXPECT_NE(ebadf.error().message().find("nowhere.bin bytes [0, 8)"), std::string::npos) << ebadf.error().message();
  EXPECT_NE(ebadf.error().message().find(std::strerror(EBADF)), std::string::npos) << ebadf.error().message();

  EXPECT_EQ(UringReader::create(0).error().kind(), ErrorKind::invalid_input);
}

}  // namespace
}  // namespace hubload
