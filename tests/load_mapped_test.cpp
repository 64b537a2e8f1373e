// Page-cache loads copied out of a populated mapping (LoadOptions::cached_mapping):
// the same bytes as reading the file, for every family, rank, task shape and
// conversion; every task of a cached file is copied so, none of a file that is
// not cached or with the option off; the mmap method shares the path.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "hubload/file.h"
#include "hubload/load.h"
#include "load/direct_io.h"
#include "support/load_models.h"
#include "support/test_support.h"
#include "support/tp_models.h"

namespace hubload {
namespace {

using testing::load_rank;
using testing::planned_tiny_model;

std::filesystem::path model_file(const testing::PlannedModel& m) { return m.dir / "model.safetensors"; }

bool mostly_cached(const std::filesystem::path& path) {
  Result<double> resident = load_internal::resident_fraction(path);
  return resident && *resident >= 0.5;
}

void expect_same_tensors(const LoadedRank& a, const LoadedRank& b) {
  ASSERT_EQ(a.tensors.size(), b.tensors.size());
  for (std::size_t i = 0; i < a.tensors.size(); ++i) {
    ASSERT_EQ(a.tensors[i].bytes.size(), b.tensors[i].bytes.size()) << a.tensors[i].name;
    EXPECT_EQ(0, std::memcmp(a.tensors[i].bytes.data(), b.tensors[i].bytes.data(), a.tensors[i].bytes.size()))
        << a.tensors[i].name;
  }
}

TEST(MappedLoad, SameBytesAsReadsForEveryFamilyRankShapeAndConversion) {
  struct Shape {
    int threads;
    std::uint64_t chunk_bytes;
    std::uint64_t max_gap_bytes;
    double amplification;  // 4: strided tensors covered where the cost model says
  };
  const Shape shapes[] = {{4, 8u << 20, 4096, 1.1}, {1, 64, 0, 1.0}, {3, 64, 4096, 1.1}, {3, 8u << 20, 0, 4.0}};
  for (const std::string family : {"llama", "gpt2", "falcon"}) {
    auto m = planned_tiny_model(family, 4, DType::BF16);
    for (int r = 0; r < 4; ++r) {
      const auto want = testing::apply_rank_plan(*rank_plan(m->plan, r), m->file);
      for (const Shape& shape : shapes) {
        for (bool convert : {false, true}) {
          SCOPED_TRACE(family + " rank " + std::to_string(r) + " threads " + std::to_string(shape.threads) +
                       " chunk " + std::to_string(shape.chunk_bytes) + " gap " + std::to_string(shape.max_gap_bytes) +
                       " amplification " + std::to_string(shape.amplification) + (convert ? " to F32" : ""));
          LoadOptions o;
          o.io_threads = shape.threads;
          o.chunk_bytes = shape.chunk_bytes;
          o.max_gap_bytes = shape.max_gap_bytes;
          o.max_read_amplification = shape.amplification;
          o.direct = DirectIo::off;
          if (convert) o.convert_to = DType::F32;
          const bool cached = mostly_cached(model_file(*m));  // just written: unless memory is short
          LoadedRank mapped = load_rank(*m, r, o);
          o.cached_mapping = false;
          LoadedRank read = load_rank(*m, r, o);
          expect_same_tensors(mapped, read);
          if (!convert) {
            ASSERT_EQ(mapped.tensors.size(), want.size());
            for (std::size_t i = 0; i < want.size(); ++i) {
              ASSERT_EQ(mapped.tensors[i].bytes.size(), want[i].size());
              EXPECT_EQ(0, std::memcmp(mapped.tensors[i].bytes.data(), want[i].data(), want[i].size()))
                  << mapped.tensors[i].name;
            }
          }
          // The same tasks either way; only how they are carried out differs.
          EXPECT_EQ(mapped.read_calls, read.read_calls);
          EXPECT_EQ(mapped.bytes_read, read.bytes_read);
          EXPECT_EQ(mapped.covered_tensors, read.covered_tensors);
          EXPECT_EQ(read.mapped_reads, 0u);
          if (cached) {
            EXPECT_EQ(mapped.mapped_reads, mapped.read_calls);
            EXPECT_EQ(mapped.uring_reads, 0u);
          }
        }
      }
    }
  }
}

TEST(MappedLoad, TheMmapMethodCopiesOutOfThePopulatedMapping) {
  auto m = planned_tiny_model("llama", 2, DType::BF16);
  LoadOptions o;
  o.io_threads = 3;
  o.chunk_bytes = 256;
  o.method = ReadMethod::mmap;
  LoadedRank mapped = load_rank(*m, 1, o);
  o.method = ReadMethod::pread;
  o.cached_mapping = false;
  LoadedRank read = load_rank(*m, 1, o);
  expect_same_tensors(mapped, read);
  EXPECT_EQ(mapped.mapped_reads, mapped.read_calls);
  EXPECT_EQ(mapped.uring_reads, 0u);
}

TEST(MappedLoad, AFileNotInThePageCacheIsRead) {
  auto m = planned_tiny_model("llama", 2, DType::BF16);
  {
    // Clean pages are dropped at once; where the kernel keeps them the case is not testable here.
    UniqueFd fd(::open(model_file(*m).c_str(), O_RDONLY | O_CLOEXEC));
    ASSERT_TRUE(fd.valid());
    ::fdatasync(fd.get());
    ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_DONTNEED);
  }
  if (mostly_cached(model_file(*m))) GTEST_SKIP() << "the kernel kept the file in the page cache";
  LoadOptions o;
  o.direct = DirectIo::off;
  LoadedRank cold = load_rank(*m, 0, o);
  EXPECT_EQ(cold.mapped_reads, 0u);
  const auto want = testing::apply_rank_plan(*rank_plan(m->plan, 0), m->file);
  ASSERT_EQ(cold.tensors.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i)
    EXPECT_EQ(0, std::memcmp(cold.tensors[i].bytes.data(), want[i].data(), want[i].size())) << cold.tensors[i].name;
  // Now it is cached (the reads filled the page cache): copied out of the mapping.
  if (mostly_cached(model_file(*m))) {
    LoadedRank warm = load_rank(*m, 0, o);
    EXPECT_EQ(warm.mapped_reads, warm.read_calls);
  }
}

}  // namespace
}  // namespace hubload
