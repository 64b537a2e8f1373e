// Where a rank's bytes land and how much is read to get them: HostBuffer arenas,
// load_into() caller-owned memory, and the over-read bound of covering reads.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <cmath>

#include "hubload/load.h"
#include "load/leased_mapping.h"
#include "support/test_support.h"
#include "support/tp_models.h"

namespace hubload {
namespace {

TEST(HostBuffer, LargeArenasAreHugePageAlignedZeroedAndMovable) {
  const std::size_t n = (3u << 20) + 17;
  HostBuffer b = *HostBuffer::allocate(n);
  ASSERT_NE(b.data(), nullptr);
  EXPECT_EQ(b.size(), n);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(b.data()) % (2u << 20), 0u);
  for (std::size_t i = 0; i < n; i += 4093) ASSERT_EQ(b.data()[i], std::byte{0}) << i;
  std::memset(b.data(), 0x5a, n);  // every byte writable, the tail included
  HostBuffer moved = std::move(b);
  EXPECT_EQ(b.data(), nullptr);
  EXPECT_EQ(moved.size(), n);
  EXPECT_EQ(moved.data()[n - 1], std::byte{0x5a});

  HostBuffer small = *HostBuffer::allocate(100);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(small.data()) % HostBuffer::kAlignment, 0u);
  moved = std::move(small);  // releases the large one
  EXPECT_EQ(moved.size(), 100u);
  EXPECT_EQ(HostBuffer::allocate(0)->data(), nullptr);
}

struct TinyLlama {
  testing::TempDir dir;
  RankPlan rank;
};

std::unique_ptr<TinyLlama> tiny_llama_rank(int w, int r) {
  auto m = std::make_unique<TinyLlama>();
  testing::write_tiny_model(m->dir.path(), "llama", testing::TinyDims{}, DType::BF16);
  PlanOptions o;
  o.world_size = w;
  m->rank = *rank_plan(*plan_model_folder(m->dir.path().string(), o), r);
  return m;
}

TEST(RankLoader, LoadIntoCallerMemoryEqualsLoad) {
  auto m = tiny_llama_rank(2, 1);
  for (ReadMethod method : {ReadMethod::pread, ReadMethod::mmap}) {
    LoadOptions o;
    o.method = method;
    RankLoader loader = *RankLoader::create(m->dir.path().string(), o);
    LoadedRank want = *loader.load(m->rank);
    const std::uint64_t need = loader.arena_bytes(m->rank);
    EXPECT_EQ(need, want.storage.size());
    EXPECT_GE(need, want.bytes_out);
    // A reused arena full of stale bytes: everything the tensors cover is overwritten.
    std::vector<std::byte> memory(need + 256, std::byte{0xab});
    auto* aligned = reinterpret_cast<std::byte*>((reinterpret_cast<std::uintptr_t>(memory.data()) + 255) / 256 * 256);
    Result<LoadedRank> got = loader.load_into(m->rank, {aligned, need});
    ASSERT_TRUE(got.has_value()) << got.error().to_string();
    EXPECT_EQ(got->storage.data(), nullptr);
    ASSERT_EQ(got->tensors.size(), want.tensors.size());
    for (std::size_t i = 0; i < want.tensors.size(); ++i) {
      const auto& a = got->tensors[i].bytes;
      ASSERT_GE(a.data(), aligned);
      ASSERT_LE(a.data() + a.size(), aligned + need);
      ASSERT_EQ(a.size(), want.tensors[i].bytes.size());
      EXPECT_EQ(0, std::memcmp(a.data(), want.tensors[i].bytes.data(), a.size())) << want.tensors[i].name;
    }
    EXPECT_EQ(got->bytes_read, want.bytes_read);
  }
}

TEST(RankLoader, LoadIntoRejectsShortOrMisalignedArenas) {
  auto m = tiny_llama_rank(2, 0);
  RankLoader loader = *RankLoader::create(m->dir.path().string());
  const std::uint64_t need = loader.arena_bytes(m->rank);
  HostBuffer arena = *HostBuffer::allocate(need + 256);
  Result<LoadedRank> short_arena = loader.load_into(m->rank, {arena.data(), need - 1});
  ASSERT_FALSE(short_arena.has_value());
  EXPECT_EQ(short_arena.error().kind(), ErrorKind::invalid_input);
  EXPECT_NE(short_arena.error().message().find(std::to_string(need)), std::string::npos)
      << short_arena.error().message();
  Result<LoadedRank> skewed = loader.load_into(m->rank, {arena.data() + 8, need});
  ASSERT_FALSE(skewed.has_value());
  EXPECT_EQ(skewed.error().kind(), ErrorKind::invalid_input);
  EXPECT_NE(skewed.error().message().find("aligned"), std::string::npos) << skewed.error().message();
}

// One U8 tensor whose runs are `count` runs of `run` bytes separated by `gap` bytes.
struct Strided {
  testing::TempDir dir;
  RankPlan plan;
  std::string file;
};

std::unique_ptr<Strided> strided(std::uint64_t run, std::uint64_t gap, int count) {
  auto s = std::make_unique<Strided>();
  s->file.resize((run + gap) * static_cast<std::uint64_t>(count));
  for (std::size_t i = 0; i < s->file.size(); ++i) s->file[i] = static_cast<char>(i * 131 % 251);
  testing::write_file(s->dir / "w.bin", s->file);
  RankTensor t{"t", "w.bin", DType::U8, {run * static_cast<std::uint64_t>(count)}, run * static_cast<std::uint64_t>(count), {}, {}};
  for (int i = 0; i < count; ++i) {
    std::uint64_t k = static_cast<std::uint64_t>(i);
    t.runs.push_back({k * (run + gap), run, k * run});
  }
  s->plan.tensors.push_back(t);
  return s;
}

LoadedRank load_strided(const Strided& s, LoadOptions o) {
  o.io_threads = 1;
  o.direct = DirectIo::off;  // the page cache's reads, counted exactly
  Result<LoadedRank> r = RankLoader::create(s.dir.path().string(), o)->load(s.plan);
  EXPECT_TRUE(r.has_value()) << r.error().to_string();
  LoadedRank out = std::move(r).value();
  // Whatever the reads, each tensor is its runs' bytes back to back.
  for (std::size_t i = 0; i < s.plan.tensors.size() && i < out.tensors.size(); ++i)
    for (const ByteRun& run : s.plan.tensors[i].runs)
      EXPECT_EQ(0, std::memcmp(out.tensors[i].bytes.data() + run.dest_offset, s.file.data() + run.file_offset, run.length))
          << s.plan.tensors[i].name << " at " << run.dest_offset;
  return out;
}

// Gap merges alone; the cost model's covering reads are tested on their own.
LoadedRank load_gap_merged(const Strided& s, LoadOptions o) {
  o.max_read_amplification = 1;
  return load_strided(s, o);
}

TEST(RankLoader, CoveringReadsStayWithinTheOverReadBound) {
  // Gaps of 1 % of a run: all 8 runs become one read of 7 gaps more than the share.
  auto narrow = strided(1000, 10, 8);
  LoadedRank one = load_gap_merged(*narrow, {});
  EXPECT_EQ(one.read_calls, 1u);
  EXPECT_EQ(one.bytes_read, 8000u + 7 * 10);

  // Gaps as large as the runs (a dense row split at W = 2): merging would read 2x,
  // so by default each run is its own read and exactly the share is read.
  auto dense = strided(1024, 1024, 8);
  LoadedRank exact = load_gap_merged(*dense, {});
  EXPECT_EQ(exact.read_calls, 8u);
  EXPECT_EQ(exact.bytes_read, exact.bytes_planned);
  LoadOptions greedy;
  greedy.max_overread = 1.0;  // allowed to read as much again
  LoadedRank merged = load_gap_merged(*dense, greedy);
  EXPECT_EQ(merged.read_calls, 1u);
  EXPECT_EQ(merged.bytes_read, 8u * 1024 + 7 * 1024);

  // Gaps of 10 %: a range takes runs while its gaps stay <= 1/16 of what it delivers,
  // i.e. pairs (100 / 2000 = 5 %), never triples (200 / 3000 = 6.7 %).
  auto tenth = strided(1000, 100, 8);
  LoadedRank pairs = load_gap_merged(*tenth, {});
  EXPECT_EQ(pairs.read_calls, 4u);
  EXPECT_EQ(pairs.bytes_read, 8000u + 4 * 100);
  EXPECT_LE(pairs.bytes_read * 16, pairs.bytes_planned * 17);

  LoadOptions none;
  none.max_overread = 0;
  EXPECT_EQ(load_gap_merged(*narrow, none).read_calls, 8u);
}

// A merged range goes through a bounce buffer: a long read is not merged with a
// small neighbour to save one read (a 4 MiB chunk would be copied twice), while small
// runs still are; copying out of a mapping (mmap) merges as before.
TEST(RankLoader, GapMergesWhereTheSavedReadOutweighsTheSecondCopy) {
  auto s = std::make_unique<Strided>();
  const std::uint64_t big = 4u << 20, gap = 16, small = 1024;
  s->file.resize(big + gap + small + gap + small);
  for (std::size_t i = 0; i < s->file.size(); ++i) s->file[i] = static_cast<char>(i * 131 % 251);
  testing::write_file(s->dir / "w.bin", s->file);
  RankTensor t{"t", "w.bin", DType::U8, {big + 2 * small}, big + 2 * small, {}, {}};
  t.runs = {{0, big, 0}, {big + gap, small, big}, {big + gap + small + gap, small, big + small}};
  s->plan.tensors.push_back(t);
  LoadedRank pread = load_gap_merged(*s, {});
  EXPECT_EQ(pread.read_calls, 2u);  // the big run alone, in place; the two small ones merged
  EXPECT_EQ(pread.bytes_read, big + 2 * small + gap);
  LoadOptions mm;
  mm.method = ReadMethod::mmap;
  EXPECT_EQ(load_gap_merged(*s, mm).read_calls, 1u);
}

// A W = 8 row-parallel slice: each row's 1 KiB of 8 KiB.
TEST(RankLoaderCostModel, CoversManySmallRowsOnlyWhereTheAmplificationBoundAllows) {
  auto rows = strided(1024, 7 * 1024, 64);
  LoadOptions o;
  o.map_short_reads = false;  // the reads' cost model
  o.max_read_amplification = 1.1;  // the default: covering would read 7.9x
  LoadedRank exact = load_strided(*rows, o);
  EXPECT_EQ(exact.covered_tensors, 0u);
  EXPECT_EQ(exact.read_calls, 64u);
  EXPECT_EQ(exact.bytes_read, exact.bytes_planned);

  o.max_read_amplification = 8;
  LoadedRank covered = load_strided(*rows, o);
  EXPECT_EQ(covered.covered_tensors, 1u);
  EXPECT_EQ(covered.read_calls, 1u);  // the span, one chunk
  EXPECT_EQ(covered.bytes_read, 64u * 1024 + 63 * 7 * 1024);
  EXPECT_LE(covered.bytes_read, 8 * covered.bytes_planned);

  o.chunk_bytes = 20000;  // windows cut rows; empty windows are not read
  LoadedRank windows = load_strided(*rows, o);
  EXPECT_EQ(windows.covered_tensors, 1u);
  EXPECT_GT(windows.read_calls, 1u);
  EXPECT_LT(windows.read_calls, 64u);
  EXPECT_LE(windows.bytes_read, covered.bytes_read);

  // Where a read costs nothing beyond its bytes, exact reads always win.
  o = LoadOptions{};
  o.map_short_reads = false;
  o.max_read_amplification = 8;
  o.cached_cost.per_read_ns = 0;
  o.direct_cost.per_read_ns = 0;
  EXPECT_EQ(load_strided(*rows, o).covered_tensors, 0u);
}

// Several tensors of different row shapes: the bytes read never pass the bound,
// whatever it is, and with room enough every tensor is covered.
TEST(RankLoaderCostModel, BytesReadStayWithinTheBoundForEveryBound) {
  auto s = std::make_unique<Strided>();
  struct Shape {
    std::uint64_t run, gap, count;
  };
  const Shape shapes[] = {{64, 64, 200}, {1024, 7168, 64}, {512, 64, 100}, {4096, 4096, 16}, {32, 8, 300}};
  std::uint64_t at = 0;
  for (std::size_t k = 0; k < std::size(shapes); ++k) {
    const Shape& sh = shapes[k];
    RankTensor t{"t" + std::to_string(k), "w.bin", DType::U8, {sh.run * sh.count}, sh.run * sh.count, {}, {}};
    for (std::uint64_t i = 0; i < sh.count; ++i) t.runs.push_back({at + i * (sh.run + sh.gap), sh.run, i * sh.run});
    at += sh.count * (sh.run + sh.gap) + 100;
    s->plan.tensors.push_back(t);
  }
  s->file.resize(at);
  for (std::size_t i = 0; i < s->file.size(); ++i) s->file[i] = static_cast<char>(i * 131 % 251);
  testing::write_file(s->dir / "w.bin", s->file);
  std::uint64_t last_covered = 0;
  for (double bound : {1.0, 1.05, 1.1, 1.5, 2.0, 3.0, 9.0}) {
    for (std::uint64_t chunk : {std::uint64_t{8} << 20, std::uint64_t{4000}}) {
      LoadOptions o;
      o.max_read_amplification = bound;
      o.max_overread = 0;  // gap merges off: the bytes beyond the share are the covering reads'
      o.map_short_reads = false;
      o.chunk_bytes = chunk;
      o.cached_cost = ReadCost{2000, 0.1, 0.1};  // fixed here: every shape gains from covering
      SCOPED_TRACE("bound " + std::to_string(bound) + " chunk " + std::to_string(chunk));
      LoadedRank r = load_strided(*s, o);  // checks every tensor's bytes
      EXPECT_LE(static_cast<double>(r.bytes_read), bound * static_cast<double>(r.bytes_planned));
      if (bound == 1.0) {
        EXPECT_EQ(r.covered_tensors, 0u);
      }
      if (chunk == (std::uint64_t{8} << 20)) last_covered = r.covered_tensors;
    }
  }
  EXPECT_EQ(last_covered, std::size(shapes));
}

// Rows copied out of a leased mapping (map_short_reads, the default) are priced as
// copies (mapped_cost): a W = 8 row slice that reads would cover, given room, is copied
// row by row, and the rank touches its share only.
TEST(RankLoaderCostModel, MappedRowsAreCopiedWhereReadsWouldCoverThem) {
  auto rows = strided(1024, 7 * 1024, 64);
  const std::string path = (rows->dir.path() / "w.bin").string();
  Result<ReadFile> file = ReadFile::open(path);
  ASSERT_TRUE(file);
  if (Result<load_internal::LeasedMapping> m = load_internal::LeasedMapping::open(path, file->fd()); !m)
    GTEST_SKIP() << m.error().to_string();
  LoadOptions o;
  o.max_read_amplification = 8;
  LoadedRank r = load_strided(*rows, o);
  EXPECT_EQ(r.covered_tensors, 0u);
  EXPECT_EQ(r.read_calls, 64u);
  EXPECT_EQ(r.mapped_reads, 64u);
  EXPECT_EQ(r.bytes_read, r.bytes_planned);
  o.map_short_reads = false;
  LoadedRank read = load_strided(*rows, o);
  EXPECT_EQ(read.mapped_reads, 0u);
  EXPECT_EQ(read.covered_tensors, 1u);
}

TEST(RankLoaderErrors, ReadAmplificationBelowOneIsRejected) {
  for (double bad : {0.99, -1.0, std::nan("")}) {
    LoadOptions o;
    o.max_read_amplification = bad;
    Result<RankLoader> r = RankLoader::create(".", o);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().kind(), ErrorKind::invalid_input);
    EXPECT_NE(r.error().message().find("max_read_amplification"), std::string::npos);
  }
}

TEST(RankLoaderErrors, NegativeOrNanOverReadIsRejected) {
  for (double bad : {-0.5, std::nan("")}) {
    LoadOptions o;
    o.max_overread = bad;
    Result<RankLoader> r = RankLoader::create(".", o);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().kind(), ErrorKind::invalid_input);
    EXPECT_NE(r.error().message().find("max_overread"), std::string::npos);
  }
}

}  // namespace
}  // namespace hubload
