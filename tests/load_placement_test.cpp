// Where each tensor lands in a rank's arena: by default at an address that agrees
// with its bytes' file offset mod 64 (the kernel copies out of the page cache at
// full speed only then), element-aligned, and on a 256-byte boundary where its
// runs disagree, its element size forbids it or it is converted; with
// Placement::aligned_256 every tensor on a 256-byte boundary. Whatever the
// placement, the bytes are the plan's.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>

#include "hubload/load.h"
#include "support/load_models.h"
#include "support/test_support.h"

namespace hubload {
namespace {

std::uint64_t address(const LoadedTensor& t) { return reinterpret_cast<std::uintptr_t>(t.bytes.data()); }

// A raw file of `size` patterned bytes and a plan of hand-made tensors over it.
struct RawPlan {
  testing::TempDir dir;
  std::string file;
  RankPlan plan;

  explicit RawPlan(std::uint64_t size) : file(size, '\0') {
    for (std::size_t i = 0; i < file.size(); ++i) file[i] = static_cast<char>(i * 131 % 251);
  }
  // `count` rows of `run` bytes, `stride` apart in the file from `at`, back to back in the tensor.
  void add(std::string name, DType dtype, std::uint64_t at, std::uint64_t run, std::uint64_t stride, int count) {
    RankTensor t{std::move(name), "w.bin", dtype, {}, run * static_cast<std::uint64_t>(count), {}, {}};
    t.shape = {t.bytes / (dtype_bits(dtype) / 8)};
    for (int i = 0; i < count; ++i) {
      const auto k = static_cast<std::uint64_t>(i);
      t.runs.push_back({at + k * stride, run, k * run});
    }
    plan.tensors.push_back(std::move(t));
  }
  LoadedRank load(LoadOptions o) {
    testing::write_file(dir / "w.bin", file);
    o.direct = DirectIo::off;
    Result<LoadedRank> r = RankLoader::create(dir.path().string(), o)->load(plan);
    EXPECT_TRUE(r.has_value()) << r.error().to_string();
    if (!r) return {};
    LoadedRank out = std::move(r).value();
    for (std::size_t i = 0; i < plan.tensors.size(); ++i) {
      const std::size_t element = dtype_bits(out.tensors[i].dtype) / 8;
      EXPECT_EQ(address(out.tensors[i]) % element, 0u) << plan.tensors[i].name;
      if (out.tensors[i].dtype != plan.tensors[i].dtype) continue;
      for (const ByteRun& run : plan.tensors[i].runs)
        EXPECT_EQ(0, std::memcmp(out.tensors[i].bytes.data() + run.dest_offset, file.data() + run.file_offset, run.length))
            << plan.tensors[i].name << " at " << run.dest_offset;
    }
    return out;
  }
};

TEST(ArenaPlacement, TensorsAgreeWithTheirFileOffsetsMod64) {
  RawPlan raw(1 << 20);
  raw.add("contiguous", DType::BF16, 4424, 8192, 8192, 1);  // 4424 = 8 mod 32, as a real checkpoint's data
  raw.add("rows", DType::BF16, 70000, 1024, 8192, 16);       // row stride and slice agree mod 64
  raw.add("f32", DType::F32, 200004, 4000, 4000, 1);         // 4 mod 64: element-aligned, not 64
  raw.add("aligned", DType::U8, 262144, 100, 100, 1);        // 0 mod 64: 64-aligned in the arena
  LoadedRank got = raw.load({});
  ASSERT_EQ(got.tensors.size(), 4u);
  for (std::size_t i = 0; i < got.tensors.size(); ++i)
    EXPECT_EQ(address(got.tensors[i]) % 64, raw.plan.tensors[i].runs[0].file_offset % 64) << got.tensors[i].name;
  // Padding is below 64 bytes a tensor, where 256-byte boundaries need up to 255.
  const std::uint64_t arena = RankLoader::create(raw.dir.path().string())->arena_bytes(raw.plan);
  EXPECT_LT(arena, got.bytes_out + 4 * 64);
  EXPECT_EQ(got.storage.size(), arena);
}

TEST(ArenaPlacement, FallsBackTo256WhereRunsDisagreeOrElementsWouldBeMisaligned) {
  RawPlan raw(1 << 20);
  raw.add("first", DType::U8, 8, 1000, 1000, 1);           // ends the arena's first bytes off any boundary
  raw.add("disagreeing rows", DType::BF16, 4104, 96, 200, 8);  // stride 200 vs slice 96: runs drift mod 64
  raw.add("odd bf16", DType::BF16, 80001, 64, 64, 1);       // an odd file offset cannot place a 2-byte element
  raw.add("agreeing", DType::BF16, 90008, 64, 64, 1);
  LoadedRank got = raw.load({});
  ASSERT_EQ(got.tensors.size(), 4u);
  EXPECT_EQ(address(got.tensors[1]) % 256, 0u);
  EXPECT_EQ(address(got.tensors[2]) % 256, 0u);
  EXPECT_EQ(address(got.tensors[3]) % 64, 90008u % 64);
}

TEST(ArenaPlacement, ConvertedTensorsAndTheAligned256OptionUse256ByteBoundaries) {
  RawPlan raw(1 << 20);
  raw.add("u8", DType::U8, 8, 1000, 1000, 1);
  raw.add("bf16", DType::BF16, 4104, 1024, 1024, 1);
  LoadOptions convert;
  convert.convert_to = DType::F32;
  LoadedRank converted = raw.load(convert);
  ASSERT_EQ(converted.tensors.size(), 2u);
  EXPECT_EQ(address(converted.tensors[0]) % 64, 8u);  // not converted: placed like the file
  EXPECT_EQ(address(converted.tensors[1]) % 256, 0u);
  EXPECT_EQ(converted.tensors[1].dtype, DType::F32);

  LoadOptions boundaries;
  boundaries.placement = Placement::aligned_256;
  LoadedRank aligned = raw.load(boundaries);
  for (const LoadedTensor& t : aligned.tensors) EXPECT_EQ(address(t) % 256, 0u) << t.name;
}

// arena_layout is what load() and load_into() place by, for every placement, on a
// real model's rank plans; both placements load the same bytes.
TEST(ArenaPlacement, ArenaLayoutIsWhatTheLoaderUses) {
  auto m = testing::planned_tiny_model("llama", 4, DType::BF16);
  for (int r = 0; r < 4; ++r) {
    RankPlan rp = *rank_plan(m->plan, r);
    LoadedRank reference;
    for (Placement placement : {Placement::aligned_256, Placement::like_file}) {
      LoadOptions o;
      o.placement = placement;
      o.direct = DirectIo::off;
      const ArenaLayout layout = arena_layout(rp, o);
      ASSERT_EQ(layout.offsets.size(), rp.tensors.size());
      EXPECT_EQ(RankLoader::create(m->dir.path().string(), o)->arena_bytes(rp), layout.bytes);
      LoadedRank got = testing::load_rank(*m, r, o);
      ASSERT_EQ(got.tensors.size(), rp.tensors.size());
      EXPECT_EQ(got.storage.size(), layout.bytes);
      for (std::size_t i = 0; i < rp.tensors.size(); ++i) {
        EXPECT_EQ(got.tensors[i].bytes.data(), got.storage.data() + layout.offsets[i]) << rp.tensors[i].name;
        if (placement == Placement::aligned_256) {
          EXPECT_EQ(layout.offsets[i] % 256, 0u);
        }
      }
      if (placement == Placement::aligned_256) {
        reference = std::move(got);
        continue;
      }
      for (std::size_t i = 0; i < rp.tensors.size(); ++i) {
        ASSERT_EQ(got.tensors[i].bytes.size(), reference.tensors[i].bytes.size());
        EXPECT_EQ(0, std::memcmp(got.tensors[i].bytes.data(), reference.tensors[i].bytes.data(), got.tensors[i].bytes.size()))
            << rp.tensors[i].name;
      }
    }
  }
}

}  // namespace
}  // namespace hubload
