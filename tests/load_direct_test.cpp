// The cold-load path: O_DIRECT reads through io_uring give the same bytes as the
// page cache's, for every family and rank, for unaligned tensor offsets and sizes
// and a file tail that is not a whole block; where the file system reports no
// direct-I/O alignment (tmpfs) the load falls back to buffered reads. Also the
// cost model's covering reads, bit-identical on real plans under every bound.
#include <fcntl.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "hubload/load.h"
#include "load/direct_io.h"
#include "load/uring_reader.h"
#include "support/load_models.h"
#include "support/test_support.h"
#include "support/tp_models.h"

namespace hubload {
namespace {

using testing::load_rank;
using testing::planned_tiny_model;

bool direct_possible(const std::filesystem::path& file) {
  return load_internal::open_direct(file).has_value() && load_internal::UringReader::create(8).has_value();
}

TEST(DirectLoad, SameBytesWithDirectOnOffAndAutomaticForEveryFamilyAndRank) {
  // Large enough that a rank's slices are reads of 64 KiB and more, which go direct.
  testing::TinyDims dims;
  dims.hidden = 256;
  dims.heads = 8;
  dims.kv_heads = 4;
  dims.head_dim = 32;
  dims.intermediate = 1024;
  dims.vocab = 512;
  dims.layers = 1;
  for (const std::string family : {"llama", "gpt2", "falcon"}) {
    auto m = planned_tiny_model(family, 4, DType::BF16, dims);
    const bool possible = direct_possible(m->dir / "model.safetensors");
    for (int r = 0; r < 4; ++r) {
      const auto want = testing::apply_rank_plan(*rank_plan(m->plan, r), m->file);
      for (DirectIo mode : {DirectIo::on, DirectIo::off, DirectIo::automatic}) {
        for (std::uint64_t chunk : {std::uint64_t{8} << 20, std::uint64_t{1000}}) {
          LoadOptions o;
          o.direct = mode;
          o.chunk_bytes = chunk;
          o.io_threads = 3;
          SCOPED_TRACE(family + " rank " + std::to_string(r) + " mode " + std::to_string(static_cast<int>(mode)) +
                       " chunk " + std::to_string(chunk));
          LoadedRank got = load_rank(*m, r, o);
          testing::expect_rank_bytes(got, want);
          EXPECT_LE(static_cast<double>(got.bytes_read), 1.1 * static_cast<double>(got.bytes_planned));
          // The file was just written: it is in the page cache, so automatic reads it there.
          if (mode != DirectIo::on) {
            EXPECT_EQ(got.direct_reads, 0u);
          }
          EXPECT_LE(got.direct_reads, got.uring_reads);
        }
      }
      LoadOptions on;
      on.direct = DirectIo::on;
      if (possible) {
        EXPECT_GT(load_rank(*m, r, on).direct_reads, 0u);
      }
    }
  }
}

struct RawFile {
  testing::TempDir dir;
  std::string bytes;
  RankPlan plan;
};

// Tensors at odd offsets, of odd sizes, the last ending at a file end that is
// not a whole block; one tensor aligned at offset 0 so it can be read in place.
std::unique_ptr<RawFile> unaligned_file(const std::filesystem::path& folder) {
  auto f = std::make_unique<RawFile>();
  const std::uint64_t size = (1u << 20) + 777;
  f->bytes.resize(size);
  std::uint64_t x = 0x9e3779b97f4a7c15ULL;
  for (char& c : f->bytes) c = static_cast<char>((x = x * 6364136223846793005ULL + 1442695040888963407ULL) >> 56);
  const std::filesystem::path path = folder / "raw.bin";
  testing::write_file(path, f->bytes);
  auto add = [&](const std::string& name, std::uint64_t offset, std::uint64_t length) {
    f->plan.tensors.push_back(RankTensor{name, path.filename().string(), DType::U8, {length}, length, {{offset, length, 0}}, {}});
  };
  add("aligned", 0, 131072);
  add("odd", 131072 + 5001, 200001);
  add("mid", 400000 + 3, 300007);
  add("tail", 800011, size - 800011);
  add("small", 777, 99);
  return f;
}

void check_raw(const RawFile& f, const LoadedRank& got) {
  ASSERT_EQ(got.tensors.size(), f.plan.tensors.size());
  for (std::size_t i = 0; i < f.plan.tensors.size(); ++i) {
    const ByteRun& run = f.plan.tensors[i].runs[0];
    ASSERT_EQ(got.tensors[i].bytes.size(), run.length);
    EXPECT_EQ(0, std::memcmp(got.tensors[i].bytes.data(), f.bytes.data() + run.file_offset, run.length))
        << f.plan.tensors[i].name;
  }
}

TEST(DirectLoad, UnalignedOffsetsSizesAndAFileTailThatIsNotAWholeBlock) {
  testing::TempDir dir;
  auto f = unaligned_file(dir.path());
  const bool possible = direct_possible(dir / "raw.bin");
  for (DirectIo mode : {DirectIo::on, DirectIo::off}) {
    for (int threads : {1, 3}) {
      for (std::uint64_t chunk : {std::uint64_t{8} << 20, std::uint64_t{65536 + 8}}) {
        LoadOptions o;
        o.direct = mode;
        o.io_threads = threads;
        o.chunk_bytes = chunk;
        SCOPED_TRACE("mode " + std::to_string(static_cast<int>(mode)) + " threads " + std::to_string(threads) +
                     " chunk " + std::to_string(chunk));
        Result<LoadedRank> got = RankLoader::create(dir.path(), o)->load(f->plan);
        ASSERT_TRUE(got.has_value()) << got.error().to_string();
        check_raw(*f, *got);
        EXPECT_LE(static_cast<double>(got->bytes_read), 1.1 * static_cast<double>(got->bytes_planned));
        EXPECT_GE(got->bytes_read, got->bytes_planned);
        if (mode == DirectIo::on && possible) {
          EXPECT_GT(got->direct_reads, 0u);
          EXPECT_LT(got->direct_reads, got->read_calls);  // "small" is too small to align within the bound
        } else {
          EXPECT_EQ(got->direct_reads, 0u);
          EXPECT_EQ(got->bytes_read, got->bytes_planned);
        }
      }
    }
  }
}

// Asks the kernel to drop the file's pages from the page cache (advice: callers check).
void evict(const std::filesystem::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(fd.valid()) << path;
  ::fdatasync(fd.get());
  ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_DONTNEED);
}

TEST(DirectLoad, AutomaticReadsAFileThatLeftThePageCacheDirect) {
  testing::TempDir dir;
  auto f = unaligned_file(dir.path());
  const std::filesystem::path path = dir / "raw.bin";
  evict(path);
  Result<double> resident = load_internal::resident_fraction(path);
  ASSERT_TRUE(resident.has_value()) << resident.error().to_string();
  Result<LoadedRank> got = RankLoader::create(dir.path(), {})->load(f->plan);
  ASSERT_TRUE(got.has_value()) << got.error().to_string();
  check_raw(*f, *got);
  // Eviction is advice: only where it took (and direct I/O is possible here) must the load go direct.
  if (*resident < 0.5 && direct_possible(path)) {
    EXPECT_GT(got->direct_reads, 0u);
  }
  if (*resident >= 0.5) {
    EXPECT_EQ(got->direct_reads, 0u);
  }
  // Loaded, it is... still not in the page cache when read direct.
  Result<double> after = load_internal::resident_fraction(path);
  ASSERT_TRUE(after.has_value());
  if (got->direct_reads == got->read_calls) {
    EXPECT_LT(*after, 0.5);
  }
}

// Past 4,096 pages the probe samples 64 windows: half a large file cached reads as about half.
TEST(DirectLoad, ResidencyOfALargeFileIsSampledAcrossIt) {
  testing::TempDir dir;
  const std::filesystem::path path = dir / "large.bin";
  const std::size_t size = std::size_t{32} << 20;  // 8,192 pages
  testing::write_file(path, std::string(size, 'w'));
  evict(path);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(fd.valid());
  Result<double> evicted = load_internal::resident_fraction(path);
  ASSERT_TRUE(evicted.has_value()) << evicted.error().to_string();
  if (*evicted > 0.05) GTEST_SKIP() << "the kernel kept the file in the page cache";
  // Every other MiB back into the page cache, so that each sampled window sees its own part.
  std::string mib(std::size_t{1} << 20, '\0');
  for (std::size_t at = 0; at < size; at += std::size_t{2} << 20)
    ASSERT_EQ(::pread(fd.get(), mib.data(), mib.size(), static_cast<off_t>(at)), static_cast<ssize_t>(mib.size()));
  Result<double> half = load_internal::resident_fraction(path);
  ASSERT_TRUE(half.has_value());
  EXPECT_GT(*half, 0.3);  // read-ahead may bring in a little more than was read
  EXPECT_LT(*half, 0.8);
}

TEST(DirectLoad, TmpfsFallsBackToThePageCache) {
  struct statfs fs {};
  const std::filesystem::path shm = "/dev/shm";
  if (::statfs(shm.c_str(), &fs) != 0 || fs.f_type != 0x01021994 /* TMPFS_MAGIC */)
    GTEST_SKIP() << "no tmpfs at /dev/shm here";
  std::filesystem::path folder = shm / ("hubload-direct-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(folder);
  struct Remove {
    std::filesystem::path p;
    ~Remove() {
      std::error_code ec;
      std::filesystem::remove_all(p, ec);
    }
  } remove{folder};
  auto f = unaligned_file(folder);
  EXPECT_FALSE(load_internal::open_direct(folder / "raw.bin").has_value());
  LoadOptions o;
  o.direct = DirectIo::on;
  Result<LoadedRank> got = RankLoader::create(folder, o)->load(f->plan);
  ASSERT_TRUE(got.has_value()) << got.error().to_string();
  check_raw(*f, *got);
  EXPECT_EQ(got->direct_reads, 0u);
  EXPECT_EQ(got->bytes_read, got->bytes_planned);
}

// Covering reads on real plans: every bound, conversion on the way, io_uring or not.
TEST(CostModelLoad, SameBytesUnderEveryAmplificationBound) {
  for (const std::string family : {"llama", "qwen2"}) {
    auto m = planned_tiny_model(family, 8, DType::BF16);
    for (int r : {0, 5}) {
      const auto want = testing::apply_rank_plan(*rank_plan(m->plan, r), m->file);
      for (double bound : {1.0, 1.1, 2.0, 8.0, 100.0}) {
        for (bool uring : {true, false}) {
          LoadOptions o;
          o.max_read_amplification = bound;
          o.io_uring = uring;
          o.chunk_bytes = 4096;
          SCOPED_TRACE(family + " rank " + std::to_string(r) + " bound " + std::to_string(bound));
          LoadedRank got = load_rank(*m, r, o);
          testing::expect_rank_bytes(got, want);
          EXPECT_LE(static_cast<double>(got.bytes_read), bound * static_cast<double>(got.bytes_planned));
          if (bound >= 8) {
            EXPECT_GT(got.covered_tensors, 0u);
          }
          o.convert_to = DType::F32;
          LoadOptions exact = o;
          exact.max_read_amplification = 1;
          LoadedRank converted = load_rank(*m, r, o), reference = load_rank(*m, r, exact);
          ASSERT_EQ(converted.tensors.size(), reference.tensors.size());
          for (std::size_t i = 0; i < reference.tensors.size(); ++i)
            EXPECT_EQ(0, std::memcmp(converted.tensors[i].bytes.data(), reference.tensors[i].bytes.data(),
                                     reference.tensors[i].bytes.size()))
                << reference.tensors[i].name;
        }
      }
    }
  }
}

}  // namespace
}  // namespace hubload
